"""SIGTERM (`timeout`, `kill`, a service manager) and SIGHUP (a closed terminal) end `flm predict` as Ctrl-C does:
the `-o` file's temporary part is removed and the exit status is 128 + the signal. Python's default for them is
to die on the spot, which left `.out.csv.XXXX.part` files behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import DATA, ROOT
from tests.plain_model import TRUST


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_run_leaves_no_part_file(tmp_path: Path, plain_flm: Path, signum: int) -> None:
    out = tmp_path / "out" / "scored.csv"
    out.parent.mkdir()
    # the model is not the point: tests/plain_model.py's spares the process the scikit-learn import
    argv = ["flm", "predict", str(plain_flm), "--trust", TRUST, "--from", "csv", "-o", str(out)]
    # As from a terminal: under `nohup` (or a shell's `&`) the suite inherits SIGHUP ignored, and flm rightly
    # keeps an inherited ignore (it then runs on to the end of its input and exits 0).
    launch = ("import runpy, signal, sys; signal.signal(signal.SIGHUP, signal.SIG_DFL); "
              f"signal.signal(signal.SIGTERM, signal.SIG_DFL); sys.argv = {argv!r}; "
              "runpy.run_module('flmcli', run_name='__main__')")
    process = subprocess.Popen([sys.executable, "-c", launch],
                               stdin=subprocess.PIPE, stderr=subprocess.PIPE, env={"FLM_WARM": "0", "PATH": "", "PYTHONPATH": str(ROOT)})
    assert process.stdin is not None
    process.stdin.write(pd.read_parquet(DATA).head(20).to_csv(index=False).encode())
    process.stdin.flush()  # the pipe stays open: the run is live, writing into its part file
    deadline = time.monotonic() + 60
    while not list(out.parent.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(out.parent.iterdir()), "the run never opened its output"
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 128 + signum, (process.returncode, err)
    assert list(out.parent.iterdir()) == []
    assert b"Traceback" not in err
