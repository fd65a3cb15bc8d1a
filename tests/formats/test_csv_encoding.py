"""CSV text that is not UTF-8 (Latin-1 bytes in a field, a UTF-16 file) is refused naming line and column: it is
never scored as raw bytes (which silently changed every prediction of the batch), nor a Python error."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.helpers import CHURN, DATA, invoke, invoke_through_a_pipe


@pytest.fixture(scope="module")
def text() -> bytes:
    return pd.read_parquet(DATA).drop(columns=["Exited"]).head(20).to_csv(index=False).encode()


def latin(text: bytes, line: int, old: bytes, new: bytes) -> bytes:
    lines = text.split(b"\n")
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new)
    return b"\n".join(lines)


@pytest.mark.parametrize("via", ["file", "stdin"])
def test_latin1_in_a_feature_column_is_refused_naming_line_and_column(tmp_path, text: bytes, via: str) -> None:
    data = latin(text, 4, b"France", b"Fr\xe9nce")
    if via == "file":
        (tmp_path / "rows.csv").write_bytes(data)
        ran = invoke("predict", CHURN, tmp_path / "rows.csv")
        where = "rows.csv:4: field 'Geography'"
    else:
        ran = invoke("predict", CHURN, "--from", "csv", input=data)
        where = "<stdin>:4: field 'Geography'"
    assert ran.returncode == 1, ran.stderr
    err = ran.stderr.decode()
    first, *rest = err.strip().splitlines()
    assert where in first and "UTF-8" in first
    assert "unexpected" not in err and "Traceback" not in err
    assert all(line.startswith("Hint:") for line in rest)


def test_latin1_in_a_kept_column_is_refused_not_a_python_error(tmp_path, text: bytes) -> None:
    (tmp_path / "rows.csv").write_bytes(latin(text, 3, b"Hill", b"H\xefll"))
    ran = invoke("predict", CHURN, tmp_path / "rows.csv", "--keep", "Surname")
    assert ran.returncode == 1
    assert "rows.csv:3: field 'Surname'" in ran.stderr.decode() and "UTF-8" in ran.stderr.decode()


def test_latin1_beyond_the_first_block_names_line_and_column(tmp_path) -> None:
    frame = pd.read_parquet(DATA).drop(columns=["Exited"])
    data = pd.concat([frame] * 8, ignore_index=True).to_csv(index=False).encode()
    assert len(data) > 5 << 20  # past the reader's first 4 MiB block
    lines = data.split(b"\n")
    lines[70000] = lines[70000].replace(b"France", b"Fr\xe9nce").replace(b"Spain", b"Sp\xe9in").replace(
        b"Germany", b"G\xe9rmany")
    (tmp_path / "rows.csv").write_bytes(b"\n".join(lines))
    ran = invoke("predict", CHURN, tmp_path / "rows.csv")
    assert ran.returncode == 1
    err = ran.stderr.decode()
    assert "rows.csv:70001: field 'Geography'" in err and "UTF-8" in err, err


def test_a_utf16_file_is_refused_at_its_header(tmp_path, text: bytes) -> None:
    (tmp_path / "rows.csv").write_bytes(text.decode().encode("utf-16"))
    ran = invoke("predict", CHURN, tmp_path / "rows.csv")
    assert ran.returncode == 1
    err = ran.stderr.decode()
    assert "rows.csv:1:" in err and "UTF-8" in err and "unexpected" not in err, err


def test_latin1_in_a_live_pipe_is_refused(text: bytes) -> None:
    data = latin(text, 4, b"France", b"Fr\xe9nce")
    ran = invoke_through_a_pipe("predict", CHURN, "--from", "csv", input=data)
    assert ran.returncode == 1
    assert b"<stdin>:4: field 'Geography'" in ran.stderr and b"UTF-8" in ran.stderr, ran.stderr
