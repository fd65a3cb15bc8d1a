"""An input of no rows (`[]`, an empty file, blank lines, lines of spaces) is one behaviour from every source
and into every output: a warning naming it, exit 0, and the output format's own empty file with the output
columns (a Parquet or Arrow file of no rows, a CSV header), as a CSV header alone already gave; never a file
of no bytes that no Parquet or Arrow reader opens."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, invoke, invoke_through_a_pipe

EMPTY_INPUTS = {
    "array.json": b"[]",
    "spaced.json": b" [ ]\n",
    "empty.json": b"",
    "empty.ndjson": b"",
    "blank.ndjson": b"\n\n",
    "empty.csv": b"",
    "blank.csv": b"\n\r\n\n",
    "spaces.csv": b" \n\t\n  \r\n",
    "spaces.tsv": b"\t\n \n",
}


def read_back(path: Path) -> pa.Table:
    """The output as a table, through the reader of its format."""
    if path.suffix == ".parquet":
        return pq.read_table(path)
    try:
        return ipc.open_file(path).read_all()
    except pa.ArrowInvalid:
        return ipc.open_stream(path).read_all()


@pytest.mark.parametrize("name", list(EMPTY_INPUTS))
@pytest.mark.parametrize("out", ["parquet", "arrow"])
def test_a_binary_output_is_a_valid_empty_file_with_the_output_columns(name: str, out: str, tmp_path: Path) -> None:
    source = tmp_path / name
    source.write_bytes(EMPTY_INPUTS[name])
    target = tmp_path / f"scored.{out}"
    ran = invoke("predict", CHURN, source, "-o", target, "--method", "predict_proba")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.decode() == f"Warning: no rows in {source}: nothing scored\n"
    table = read_back(target)
    assert table.num_rows == 0
    assert table.schema.names == ["0", "1"]  # churn's classes: the columns rows would have had
    assert all(pa.types.is_floating(kind) for kind in table.schema.types)


@pytest.mark.parametrize("name", list(EMPTY_INPUTS))
def test_text_outputs_are_their_empty_forms(name: str, tmp_path: Path) -> None:
    source = tmp_path / name
    source.write_bytes(EMPTY_INPUTS[name])
    expected = {"csv": b"prediction\n", "tsv": b"prediction\n", "json": b"[]", "ndjson": b""}
    for fmt, body in expected.items():
        target = tmp_path / f"scored.{fmt}"
        ran = invoke("predict", CHURN, source, "-o", target)
        assert ran.returncode == 0, (fmt, ran.stderr)
        assert target.read_bytes().strip() == body.strip(), fmt


@pytest.mark.parametrize("blank", [b"\n\n", b" \n \n", b"\t\r\n  \r\n", b" "])
def test_blank_lines_are_no_rows_from_a_file_stdin_and_a_live_pipe(blank: bytes, tmp_path: Path) -> None:
    source = tmp_path / "blank.csv"
    source.write_bytes(blank)
    from_file = invoke("predict", CHURN, source, "--to", "csv")
    from_stdin = invoke("predict", CHURN, "--from", "csv", "--to", "csv", input=blank)
    from_pipe = invoke_through_a_pipe("predict", CHURN, "--from", "csv", "--to", "csv", input=blank)
    assert from_file.returncode == from_stdin.returncode == from_pipe.returncode == 0, from_file.stderr
    assert from_file.stdout == from_stdin.stdout == from_pipe.stdout == b"prediction\n"
    assert from_file.stderr.decode() == f"Warning: no rows in {source}: nothing scored\n"
    assert from_stdin.stderr == from_pipe.stderr == b"Warning: no rows in <stdin>: nothing scored\n"


@pytest.mark.parametrize("blank", [b" \n\t\n", b"\n \r\n"])
def test_blank_lines_before_a_header_are_skipped_everywhere(blank: bytes, tmp_path: Path) -> None:
    rows = CHURN.parent.parent / "data" / "data.parquet"
    header_and_rows = invoke("predict", CHURN, rows, "--to", "csv")
    assert header_and_rows.returncode == 0
    import pyarrow.csv as pacsv

    source = tmp_path / "rows.csv"
    pacsv.write_csv(pq.read_table(rows).slice(0, 50), source)
    text = blank + source.read_bytes()
    source.write_bytes(text)
    from_file = invoke("predict", CHURN, source, "--to", "csv")
    from_pipe = invoke_through_a_pipe("predict", CHURN, "--from", "csv", "--to", "csv", input=text)
    assert from_file.returncode == from_pipe.returncode == 0, from_file.stderr + from_pipe.stderr
    assert from_file.stdout == from_pipe.stdout
    assert from_file.stdout.splitlines() == header_and_rows.stdout.splitlines()[:51]
