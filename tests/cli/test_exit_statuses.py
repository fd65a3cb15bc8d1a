"""Exit statuses a shell sees: a reader that goes away, closed standard streams, a full disk. Real processes and
real shell pipes, because the process and its file descriptors are the point; the model is not, so the
processes load tests/plain_model.py's, which spares each the scikit-learn import."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.helpers import ROOT
from tests.plain_model import TRUST, process_env

CHURN = ROOT / "samples" / "churn.flm"  # `flm inspect` never unpickles: it may read the real sample
ROW = [10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]
FLM = f"{shlex.quote(sys.executable)} -m flmcli"


def shell(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
                          env=process_env())


@pytest.fixture(scope="module")
def model(plain_flm: Path) -> str:
    """The model and the option that trusts it, as they go on a command line."""
    return f"{plain_flm} --trust {TRUST}"


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # ~1.7 MB of output: far more than a pipe buffer (64 KiB), so the writer meets the closed pipe mid-stream
    path = tmp_path_factory.mktemp("rows") / "rows.ndjson"
    path.write_bytes((orjson.dumps(ROW) + b"\n") * 100_000)
    return path


@pytest.mark.parametrize("to", ["ndjson", "json", "csv"])
def test_a_reader_that_goes_away_gives_141(model: str, rows: Path, to: str) -> None:
    result = shell(f"{FLM} predict {model} {rows} --to {to} | head -c 10 > /dev/null; "
                   'echo "${PIPESTATUS[0]}"', rows.parent)
    assert result.stdout.strip() == "141", result.stderr
    assert result.stderr == ""  # quietly, as a filter killed by SIGPIPE


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_reader_gone_during_one_large_write_gives_141(model: str, tmp_path: Path, unbuffered: str) -> None:
    # 10,000 rows in one batch: one 230 kB write, of which the pipe takes 64 KiB before the reader leaves. Under
    # PYTHONUNBUFFERED stdout is a raw file that reports such a short write only by its count (exit 0 before).
    data = Path(__file__).resolve().parents[2] / "data" / "data.parquet"
    result = shell(f"PYTHONUNBUFFERED={unbuffered} {FLM} predict {model} {data} | (sleep 1; head -c 10 > /dev/null); "
                   'echo "${PIPESTATUS[0]}"', tmp_path)
    assert result.stdout.strip() == "141", result.stderr
    assert result.stderr == ""


def test_closed_stdin_is_one_line(model: str, tmp_path: Path) -> None:
    result = shell(f"{FLM} predict {model} <&-", tmp_path)
    assert result.returncode == 1
    assert result.stderr == "Error: stdin is closed\n"


@pytest.mark.parametrize("command", ["predict {model} {rows}", "inspect {churn}"])
def test_closed_stdout_is_one_line(model: str, rows: Path, command: str) -> None:
    result = shell(f"{FLM} {command.format(model=model, rows=rows, churn=CHURN)} >&-", rows.parent)
    assert result.returncode == 1
    assert result.stderr == "Error: stdout is closed\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["predict {model} {rows}", "predict {model} {rows} --to csv", "inspect {churn}"])
def test_a_full_disk_says_so(model: str, rows: Path, command: str) -> None:
    result = shell(f"{FLM} {command.format(model=model, rows=rows, churn=CHURN)} > /dev/full", rows.parent)
    assert result.returncode == 1
    assert result.stderr == "Error: cannot write: no space left on device\n"
