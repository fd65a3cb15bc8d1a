"""`flm predict ... 2>&-` (stderr closed by the shell) scores as usual: data goes to stdout and messages nowhere.
Python leaves sys.stderr None there, and the run failed (exit 1, no output) on its first use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import CHURN_DATA
from tests.plain_model import TRUST, process_env


def run(model: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    # the model is not the point: tests/plain_model.py's (twice the first feature) spares the scikit-learn import
    return subprocess.run([sys.executable, "-m", "flmcli", "predict", str(model), "--trust", TRUST, *args],
                          stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2), timeout=120, env=process_env())


def test_a_run_with_stderr_closed_writes_its_predictions(plain_flm: Path) -> None:
    ran = run(plain_flm, str(CHURN_DATA / "input.json"))
    assert ran.returncode == 0
    assert ran.stdout == b"[20000.0]\n"  # twice the row's RowNumber


def test_a_failing_run_with_stderr_closed_keeps_its_exit_status(tmp_path, plain_flm: Path) -> None:
    (tmp_path / "bad.ndjson").write_text('{"Age": "old"}\n')
    ran = run(plain_flm, str(tmp_path / "bad.ndjson"))
    assert ran.returncode == 1
    assert ran.stdout == b""
