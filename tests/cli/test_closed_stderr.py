"""`flm predict ... 2>&-` (stderr closed by the shell) scores as usual: data goes to stdout and messages nowhere.
Python leaves sys.stderr None there, and the run failed (exit 1, no output) on its first use."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import CHURN, CHURN_DATA


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "flmcli", "predict", str(CHURN), *args], stdout=subprocess.PIPE,
                          preexec_fn=lambda: os.close(2), timeout=120)


def test_a_run_with_stderr_closed_writes_its_predictions() -> None:
    ran = run(str(CHURN_DATA / "input.json"))
    assert ran.returncode == 0
    assert ran.stdout == b"[0]\n"


def test_a_failing_run_with_stderr_closed_keeps_its_exit_status(tmp_path) -> None:
    (tmp_path / "bad.ndjson").write_text('{"Age": "old"}\n')
    ran = run(str(tmp_path / "bad.ndjson"))
    assert ran.returncode == 1
    assert ran.stdout == b""
