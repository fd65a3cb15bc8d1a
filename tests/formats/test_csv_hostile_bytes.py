"""Hostile bytes in CSV: a NUL byte is refused wherever it is (it was only looked for in the first 64 KiB: later,
"Fra\\0nce" was scored silently as an unknown country), naming line and column, from a file, a pipe and a live
pipe. A CSV file with a row longer than the reader's block is a one-line error and exit 1: the process left
while pyarrow's reader still read ahead from its own thread, and aborted at times ("Fatal Python error:
PyGILState_Release", exit 134)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CHURN, invoke, invoke_through_a_pipe
from tests.plain_model import TRUST, process_env

HEADER = ("RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,HasCrCard,"
          "IsActiveMember,EstimatedSalary")
ROW = "1,15634602,Hargrave,619,France,Female,42,2,0,1,1,1,101348.88"


@pytest.mark.parametrize(("bad", "field"), [
    ("1,15634602,Hargrave,619,Fra\0nce,Female,42,2,0,1,1,1,101348.88", "Geography"),
    ("1,15634602,Harg\0rave,619,France,Female,42,2,0,1,1,1,101348.88", "Surname"),
    ("1,15634602,Hargrave,619,France,Female,4\0002,2,0,1,1,1,101348.88", "Age"),
])
@pytest.mark.parametrize("rows_before", [1, 3000], ids=["head", "past-64k"])
def test_a_nul_byte_is_refused_wherever_it_is(tmp_path: Path, bad: str, field: str, rows_before: int) -> None:
    text = "\n".join([HEADER, *[ROW] * rows_before, bad, ROW]).encode() + b"\n"
    assert rows_before == 1 or text.index(b"\0") > 1 << 16
    path = tmp_path / "rows.csv"
    path.write_bytes(text)
    line = rows_before + 2
    for ran, name in ((invoke("predict", CHURN, path), str(path)),
                      (invoke("predict", CHURN, "--from", "csv", input=text), "<stdin>"),
                      (invoke_through_a_pipe("predict", CHURN, "--from", "csv", input=text), "<stdin>")):
        assert ran.returncode == 1
        message = ran.stderr.decode().splitlines()[0]
        # in a file's first bytes it is seen before any column is known; a live pipe has no first bytes to look at
        # (a live pipe types its columns from its first rows: a NUL in a number column is then not a number)
        named = message.startswith((f"Error: {name}:{line}: field '{field}': not text: a NUL byte",
                                    f"Error: {name}:{line}: field '{field}': value '4\\x002' is not int64"))
        early = rows_before == 1 and message.startswith(f"Error: {name}:{line}: not text: a NUL byte")
        assert named or early, message


@pytest.fixture(scope="module")
def long_row(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.csv"
    path.write_bytes(b"RowNumber,Surname\n1," + b"x" * (50 << 20) + b"\n")
    return path


def test_a_row_longer_than_the_block_exits_1_every_time(long_row: Path, plain_flm: Path) -> None:
    """The abort came at about one run in three: five runs. The model is not the point: tests/plain_model.py's
    spares each process the scikit-learn import (~0.4 CPU-s a run instead of ~1.2); without the fix in cli._exit
    the runs abort as often with it as with the churn model (5 of 10 each, 50 MiB row; a 12 MiB row: 0 of 10)."""
    for _ in range(5):
        ran = subprocess.run([sys.executable, "-m", "flmcli", "predict", str(plain_flm), "--trust", TRUST,
                              str(long_row)], capture_output=True, timeout=120, env=process_env())
        assert ran.returncode == 1, ran.stderr.decode(errors="replace")[-2000:]
        assert ran.stderr.decode().splitlines()[0] == (
            f"Error: {long_row}: after line 1: a row longer than the CSV reader's block")
        assert b"Fatal" not in ran.stderr
