"""A warm directory whose socket path would pass the Unix limit (107 bytes) is refused by `flm warm start` with one
line saying so, and clients run cold without a word, as with no helper. Start spawned a helper that failed to bind
('the warm helper did not start; see .../helper.log', a traceback there), and every `flm predict` then warned that
the helper 'is not running (AF_UNIX path too long); `flm warm stop` clears it', which it did not."""

from __future__ import annotations

import json
import os
from pathlib import Path

from flmcli.warm import paths

from .conftest import CHURN, env_for, run

ROW = {"RowNumber": 1, "CustomerId": 15634602, "Surname": "Hargrave", "CreditScore": 619, "Geography": "France",
       "Gender": "Female", "Age": 42, "Tenure": 2, "Balance": 0.0, "NumOfProducts": 1, "HasCrCard": 1,
       "IsActiveMember": 1, "EstimatedSalary": 101348.88}


def _long_directory(tmp_path: Path) -> str:
    directory = tmp_path / ("d" * max(1, paths.MAX_SOCKET_PATH - len(str(tmp_path))))
    directory.mkdir(mode=0o700)
    os.chmod(directory, 0o700)
    assert len(os.fsencode(paths.socket_path(str(directory)))) > paths.MAX_SOCKET_PATH
    return str(directory)


def test_start_refuses_it_in_one_line(tmp_path: Path) -> None:
    directory = _long_directory(tmp_path)
    result = run(["warm", "start"], env_for(directory), timeout=120)
    assert result.returncode == 1
    assert result.stderr.decode().splitlines()[0] == (
        f"Error: {paths.too_long(directory)}"), result.stderr
    assert b"point FLM_WARM_DIR at a shorter directory" in result.stderr
    assert not os.path.exists(os.path.join(directory, paths.LOG_NAME))  # no helper was started


def test_predict_runs_cold_without_a_warning(tmp_path: Path) -> None:
    directory = _long_directory(tmp_path)
    row = json.dumps(ROW).encode() + b"\n"
    there = run(["predict", str(CHURN)], env_for(directory), input=row)
    cold = run(["predict", str(CHURN)], env_for(None), input=row)
    assert (there.returncode, there.stdout, there.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert there.returncode == 0 and there.stderr == b""


def test_a_directory_at_the_limit_is_not_refused(tmp_path: Path) -> None:
    base = str(tmp_path) + "/"
    name = "d" * (paths.MAX_SOCKET_PATH - len(os.fsencode(paths.temporary_socket_path(base + "x", 4194304))) + 1)
    assert len(os.fsencode(paths.temporary_socket_path(base + name, 4194304))) == paths.MAX_SOCKET_PATH
    assert paths.too_long(base + name) is None
    assert paths.too_long(base + name + "d") is not None
