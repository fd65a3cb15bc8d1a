"""`flm` runs from a frame that reserves a large chunk of CPython's frame stack (flmcli.stack): without it, calls
crossing the edge of a 16 KiB chunk mapped and unmapped it ~27,000 times in a one-row `flm predict` (0.2-0.3 s of
its start). The call itself must stay a plain call: result, exceptions and deep recursion as before."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys

import pytest

from flmcli import stack
from tests.helpers import CHURN, ROOT


def test_the_call_returns_raises_and_recurses_as_a_plain_call() -> None:
    assert stack.call_reserved(lambda: 42) == 42

    def deep(n: int) -> int:
        return n if n == 0 else 1 + deep(n - 1)

    assert stack.call_reserved(lambda: deep(800)) == 800
    with pytest.raises(SystemExit) as exit_:
        stack.call_reserved(lambda: sys.exit(3))
    assert exit_.value.code == 3


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="a CPython frame-stack matter")
def test_the_frame_reserves_its_room() -> None:
    assert stack.call_reserved.__code__.co_stacksize == stack.RESERVE


@pytest.mark.skipif(shutil.which("strace") is None, reason="counts the process's munmap calls with strace")
def test_a_one_row_predict_does_not_map_and_unmap_frame_chunks(tmp_path) -> None:
    row = tmp_path / "one.csv"
    row.write_text("RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,"
                   "HasCrCard,IsActiveMember,EstimatedSalary\n1,15634602,Hargrave,619,France,Female,42,2,0,1,1,1,"
                   "101348.88\n")
    counts = tmp_path / "strace.txt"
    flm = [sys.executable, "-c", "import sys; sys.argv[0] = 'flm'; from flmcli.launch import main; main()"]
    ran = subprocess.run(["strace", "-f", "-c", "-e", "trace=munmap", "-o", str(counts), *flm, "predict",
                          str(CHURN), str(row)], capture_output=True, cwd=ROOT, timeout=120)
    if ran.returncode != 0 and b"ptrace" in ran.stderr:
        pytest.skip("strace cannot trace here")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == b"prediction\n0\n"
    calls = next(int(line.split()[3]) for line in counts.read_text().splitlines() if line.endswith("munmap"))
    assert calls < 2000  # ~27,000 without the reserved frame (a few hundred: Python's arenas, numpy, Arrow)
