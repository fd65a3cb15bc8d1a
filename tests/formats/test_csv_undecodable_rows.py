"""A CSV row of the wrong width whose text is not UTF-8 (a Latin-1 file with a short row; a binary file read
with --from csv) is one error line naming the row: pyarrow decodes such a row before calling flm's handler,
fails there, and Python printed that failure as 'Exception ignored ... Traceback' on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.helpers import CHURN, DATA


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    # A real process: the stray traceback is written by the interpreter's unraisable hook, to the real stderr.
    return subprocess.run([sys.executable, "-m", "flmcli", "predict", str(CHURN), *args], capture_output=True,
                          timeout=120)


def test_a_short_latin1_row_is_one_line_naming_it(tmp_path: Path) -> None:
    lines = pd.read_parquet(DATA).head(10).to_csv(index=False).encode().split(b"\n")
    lines[3] = b"1,2,H\xe9llo"
    (tmp_path / "rows.csv").write_bytes(b"\n".join(lines))
    ran = run(str(tmp_path / "rows.csv"))
    assert ran.returncode == 1
    err = ran.stderr.decode(errors="replace")
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "rows.csv:4:" in err and "expected 14 fields, got 3" in err, err


def test_a_binary_file_read_as_csv_is_refused_as_such(tmp_path: Path) -> None:
    pd.read_parquet(DATA).head(10).to_parquet(tmp_path / "rows.parquet")
    ran = run("--from", "csv", str(tmp_path / "rows.parquet"))
    assert ran.returncode == 1
    err = ran.stderr.decode(errors="replace")
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "rows.parquet" in err and "not text" in err, err
