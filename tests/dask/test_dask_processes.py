"""One job against a real `dask scheduler` and `dask worker` started as processes on 127.0.0.1, with `flm
predict` itself a process too: the same rows as `flm predict` without Dask."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.dask.dask_support import CHURN, churn, local_frame, read_parts, write

DASK = str(Path(sys.executable).parent / "dask")


def test_scheduler_and_worker_processes(tmp_path: Path) -> None:
    info = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file",
                                  str(info), *common], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        worker = subprocess.Popen([DASK, "worker", "--scheduler-file", str(info), "--host", "127.0.0.1",
                                   "--nworkers", "1", "--nthreads", "1", *common],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import json

        from distributed import Client

        address = json.loads(info.read_text())["address"]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        inputs = [write(churn(300, 0), tmp_path / "a.ndjson"), write(churn(200, 300), tmp_path / "b.parquet")]
        out = tmp_path / "scored"
        done = subprocess.run([sys.executable, "-m", "flmcli", "predict", str(CHURN), *map(str, inputs), "-o", str(out),
                               "--method", "predict_proba", "--keep", "CustomerId"],
                              capture_output=True, text=True, timeout=120, check=False,
                              env={**os.environ, "FLM_DASK": address})
        assert done.returncode == 0, done.stderr
        assert f"dask: scheduler {address}, 1 worker(s)" in done.stderr
        expected = local_frame(CHURN, inputs, tmp_path, "--method", "predict_proba", "--keep", "CustomerId")
        assert read_parts(out).equals(expected)
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
        for process in (worker, scheduler):
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
