"""CSV errors name the line a bad row is on when values before it hold line ends (a quoted value spanning lines):
they named the line the row would be on without them (line 2502 for a row on line 2505), from a file, from stdin
and in --on-error skip's report, for a value the model refuses, a short row and a NUL byte."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.cli.test_csv_text_as_written import ZIPS, code_model
from tests.helpers import invoke


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return code_model(tmp_path_factory.mktemp("zips") / "zips.flm", ZIPS)


def rows_with_notes(n: int, bad_at: int, bad: str, *, crlf_notes: bool = False) -> tuple[bytes, int]:
    """`n` rows whose every 500th note spans two (or, CRLF-ended, three) lines, row `bad_at` replaced by `bad`;
    the text and the line the bad row is on."""
    note = '"two\r\nlines\r\nhere"' if crlf_notes else '"two\nlines"'
    lines = ["code,x,note"]
    for i in range(n):
        lines.append(bad if i == bad_at else f"{ZIPS[i % 5]},1.0,{note if i % 500 == 7 else 'plain'}")
    text = "\n".join(lines) + "\n"
    line = text[: text.index(bad)].count("\n") + 1
    return text.encode(), line


@pytest.mark.parametrize("crlf_notes", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("bad, message", [
    ("02139,abc,plain", "field 'x': the model cannot use the value 'abc'"),
    ("99999", "expected 3 fields, got 1"),
    ("02139,1.0,pl\0ain", "field 'note': not text"),
])
def test_the_bad_rows_line_counts_the_quoted_line_ends_before_it(zips: Path, tmp_path: Path, bad: str,
                                                                 message: str, crlf_notes: bool) -> None:
    text, line = rows_with_notes(8000, 7000, bad, crlf_notes=crlf_notes)
    assert line > 7002  # the notes before the bad row hold line ends
    path = tmp_path / "rows.csv"
    path.write_bytes(text)
    for ran, name in ((invoke("predict", zips, path, "--batch-size", "1000"), str(path)),
                      (invoke("predict", zips, "--from", "csv", "--batch-size", "300", input=text), "<stdin>")):
        assert ran.returncode == 1
        assert ran.stderr.decode().startswith(f"Error: {name}:{line}: {message}"), ran.stderr


def test_skip_reports_each_bad_rows_own_line(zips: Path, tmp_path: Path) -> None:
    text, line = rows_with_notes(3000, 2500, "02139,abc,plain")
    path = tmp_path / "rows.csv"
    path.write_bytes(text)
    ran = invoke("predict", zips, path, "--on-error", "skip", "--batch-size", "700")
    assert ran.returncode == 5
    report = orjson.loads(ran.stderr.splitlines()[0])
    assert report["line"] == line
    assert ran.stdout.count(b"\n") == 3000  # a header and every row but the bad one
