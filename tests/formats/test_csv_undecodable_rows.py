"""A CSV row of the wrong width whose text is not UTF-8 (a Latin-1 file with a short row; a binary file read
with --from csv) is one error line naming the row: pyarrow decodes such a row before calling flm's handler,
fails there, and Python printed that failure as 'Exception ignored ... Traceback' on stderr."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.helpers import DATA
from tests.plain_model import TRUST, process_env


@pytest.fixture
def run(plain_flm: Path) -> Callable[..., subprocess.CompletedProcess[bytes]]:
    # A real process: the stray traceback is written by the interpreter's unraisable hook, to the real stderr.
    # The model is not the point: tests/plain_model.py's spares the process the scikit-learn import (with the
    # hook of csv_errors.quiet_undecodable_rows left out, the Latin-1 row's traceback shows with it as with churn's).
    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "flmcli", "predict", str(plain_flm), "--trust", TRUST, *args],
                              capture_output=True, timeout=120, env=process_env())

    return run


def test_a_short_latin1_row_is_one_line_naming_it(tmp_path: Path, run: Callable[..., Any]) -> None:
    lines = pd.read_parquet(DATA).head(10).to_csv(index=False).encode().split(b"\n")
    lines[3] = b"1,2,H\xe9llo"
    (tmp_path / "rows.csv").write_bytes(b"\n".join(lines))
    ran = run(str(tmp_path / "rows.csv"))
    assert ran.returncode == 1
    err = ran.stderr.decode(errors="replace")
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "rows.csv:4:" in err and "expected 14 fields, got 3" in err, err


def test_a_binary_file_read_as_csv_is_refused_as_such(tmp_path: Path, run: Callable[..., Any]) -> None:
    pd.read_parquet(DATA).head(10).to_parquet(tmp_path / "rows.parquet")
    ran = run("--from", "csv", str(tmp_path / "rows.parquet"))
    assert ran.returncode == 1
    err = ran.stderr.decode(errors="replace")
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "rows.parquet" in err and "not text" in err, err
