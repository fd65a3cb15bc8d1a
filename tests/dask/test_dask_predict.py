"""`flm predict --dask` and `flmcli.dask.predict` on a real cluster of processes on 127.0.0.1 (`dask scheduler`
and two `dask worker`s): same rows, columns, names and types as `flm predict` without Dask."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from tests.dask.dask_support import CHURN, ROOT, churn, invoke, local_frame, read_parts, write

# one cluster for the module, on one xdist worker, in this order
pytestmark = pytest.mark.xdist_group("dask-cluster")

DASK = str(Path(sys.executable).parent / "dask")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two single-thread workers, each its own process (no nanny: a nanny is one more process
    per worker, and a worker killed here is not to come back); the workers import the tests' slow model."""
    from distributed import Client

    info = tmp_path_factory.mktemp("dask") / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    processes = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file",
                                   str(info), "--dashboard-address", "127.0.0.1:0"], **quiet)]
    try:
        # started with the scheduler, not after it: a worker waits for the scheduler file itself, so the three
        # import Dask at the same time
        processes += [subprocess.Popen([DASK, "worker", "--scheduler-file", str(info), "--host", "127.0.0.1",
                                        "--nthreads", "1", "--no-nanny", "--dashboard-address", "127.0.0.1:0"], **quiet)
                      for _ in range(2)]
        deadline = time.monotonic() + 60
        address = None
        while address is None:
            assert processes[0].poll() is None, "the scheduler exited"
            assert time.monotonic() < deadline, "no scheduler file after 60 s"
            try:
                address = json.loads(info.read_text())["address"]
            except (FileNotFoundError, ValueError, KeyError):  # not there yet, or still being written
                time.sleep(0.05)
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        # the workers first: a worker whose scheduler is going away at the same moment may take its whole grace
        # period to stop (20 s seen)
        _stop(processes[1:])
        _stop(processes[:1])


@pytest.mark.parametrize("ext", [".parquet", ".ndjson", ".csv"])
def test_same_predictions_as_local(cluster: str, tmp_path: Path, ext: str) -> None:
    inputs = [write(churn(700, 0), tmp_path / f"a{ext}"), write(churn(500, 700), tmp_path / f"b{ext}")]
    out = tmp_path / "scored"
    result = invoke("predict", CHURN, *inputs, "-o", out, "--dask", cluster, "--keep", "CustomerId",
                    "--partition-size", "40kB")
    assert result.exit_code == 0, result.output
    assert f"dask: scheduler {cluster}, 2 worker(s)" in result.stderr
    scored = read_parts(out)
    expected = local_frame(CHURN, inputs, tmp_path, "--keep", "CustomerId")
    assert len(scored) == 1200
    assert list(scored.columns) == ["CustomerId", "prediction"]
    assert scored.equals(expected)


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict[str, Path]]:
    """Two Parquet files of iris rows, and models that between them have every method flm knows."""
    from sklearn.datasets import load_iris
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    from flmcli import flm

    directory = tmp_path_factory.mktemp("iris")
    X, y = load_iris(return_X_y=True)
    table = pa.table({f"f{i}": X[:, i] for i in range(4)})
    files = [directory / "a.parquet", directory / "b.parquet"]
    pq.write_table(table.slice(0, 90), files[0])
    pq.write_table(table.slice(90), files[1])
    models = {"logreg": directory / "logreg.flm", "pca": directory / "pca.flm"}
    flm.dump(LogisticRegression(max_iter=500).fit(X, y), models["logreg"])
    flm.dump(PCA(n_components=2).fit(X), models["pca"])
    return files, models


@pytest.mark.parametrize(("model", "method"), [("logreg", "predict"), ("logreg", "predict_proba"),
                                               ("logreg", "decision_function"), ("pca", "transform"),
                                               ("pca", "score_samples")])
def test_every_method_matches_local(cluster: str, iris: tuple[list[Path], dict[str, Path]], tmp_path: Path,
                                    model: str, method: str) -> None:
    files, models = iris
    out = tmp_path / "scored"
    result = invoke("predict", models[model], *files, "-o", out, "--dask", cluster, "--method", method,
                    "--keep-input")
    assert result.exit_code == 0, result.output
    scored = read_parts(out)
    expected = local_frame(models[model], files, tmp_path, "--method", method, "--keep-input")
    assert len(scored) == 150
    assert list(scored.columns) == list(expected.columns)
    assert scored.dtypes.equals(expected.dtypes)
    assert scored.equals(expected)


def test_output_formats_are_the_local_writers(cluster: str, tmp_path: Path) -> None:
    inputs = [write(churn(300, 0), tmp_path / "a.parquet"), write(churn(200, 300), tmp_path / "b.parquet")]
    for fmt in ("ndjson", "csv"):
        out = tmp_path / fmt
        result = invoke("predict", CHURN, *inputs, "-o", out, "--dask", cluster, "--to", fmt,
                        "--method", "predict_proba", "--output-name", "p")
        assert result.exit_code == 0, result.output
        written = sorted(p.name for p in out.iterdir())
        assert written == ["_SUCCESS", f"part-000000.{fmt}", f"part-000001.{fmt}"]
        for i, path in enumerate(inputs):
            local = invoke("predict", CHURN, path, "--to", fmt, "--method", "predict_proba", "--output-name", "p")
            assert local.exit_code == 0, local.output
            assert (out / f"part-{i:06d}.{fmt}").read_bytes() == local.stdout_bytes


def test_python_api(cluster: str, tmp_path: Path) -> None:
    import dask.dataframe as dd
    from distributed import Client

    import flmcli.dask

    inputs = [write(churn(400, 0), tmp_path / "a.parquet"), write(churn(300, 400), tmp_path / "b.parquet")]
    with Client(cluster):
        frame = dd.read_parquet([str(p) for p in inputs])
        scored = flmcli.dask.predict(frame, CHURN, method="predict_proba", keep=["CustomerId"]).compute()
    expected = local_frame(CHURN, inputs, tmp_path, "--method", "predict_proba", "--keep", "CustomerId")
    assert list(scored.columns) == ["CustomerId", "0", "1"]
    assert scored.reset_index(drop=True).equals(expected)


def _bad_ndjson(tmp_path: Path) -> list[Path]:
    """Two NDJSON files; the second has values the model refuses on lines 150 and 390 (not its first partition)."""
    rows = churn(400, 0).to_pylist()
    rows[149]["CreditScore"] = "abc"
    rows[389]["Age"] = "old"
    bad = tmp_path / "b.ndjson"
    bad.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return [write(churn(200, 500), tmp_path / "a.ndjson"), bad]


def test_on_error_skip_reports_rows_like_local(cluster: str, tmp_path: Path) -> None:
    inputs = _bad_ndjson(tmp_path)
    out = tmp_path / "scored"
    result = invoke("predict", CHURN, *inputs, "-o", out, "--dask", cluster, "--on-error", "skip",
                    "--partition-size", "30kB")
    assert result.exit_code == 5, result.output
    reported = [orjson.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [(r["source"], r["line"]) for r in reported] == [(str(inputs[1]), 150), (str(inputs[1]), 390)]
    local = invoke("predict", CHURN, *inputs, "-o", tmp_path / "local/", "--on-error", "skip")
    assert local.exit_code == 5
    assert reported == [orjson.loads(line) for line in local.stderr.splitlines() if line.startswith("{")]
    assert len(read_parts(out)) == 598


def test_on_error_null_writes_the_local_error_text(cluster: str, tmp_path: Path) -> None:
    inputs = _bad_ndjson(tmp_path)
    out = tmp_path / "scored"
    result = invoke("predict", CHURN, *inputs, "-o", out, "--dask", cluster, "--on-error", "null",
                    "--partition-size", "30kB")
    assert result.exit_code == 0, result.output
    scored = read_parts(out)
    expected = local_frame(CHURN, inputs, tmp_path, "--on-error", "null")
    assert scored["error"].notna().sum() == 2
    assert scored["error"].tolist() == expected["error"].tolist()
    assert scored["prediction"].fillna(-1).tolist() == expected["prediction"].fillna(-1).tolist()


def test_on_error_fail_names_file_and_line_and_leaves_no_output(cluster: str, tmp_path: Path) -> None:
    inputs = _bad_ndjson(tmp_path)
    out = tmp_path / "scored"
    result = invoke("predict", CHURN, *inputs, "-o", out, "--dask", cluster, "--partition-size", "30kB")
    local = invoke("predict", CHURN, inputs[1])
    assert result.exit_code == local.exit_code == 1
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert error == [line for line in local.stderr.splitlines() if line.startswith("Error:")]
    assert f"{inputs[1]}:150:" in error[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ndjson", "b.ndjson"]  # no output, no temporary


def test_a_parquet_dictionary_bomb_is_refused_on_the_worker_as_locally(cluster: str, tmp_path: Path) -> None:
    """Rows 2101 on stand for one 33 MiB value through a dictionary page: a few kB on disk, 30 GB decoded. The
    worker reads its row groups with flm's reader, which refuses the first such row, named as `flm predict` does."""
    import numpy as np

    table = churn(3000).replace_schema_metadata(None)
    geography = table.column("Geography").to_pylist()
    values = sorted(set(geography))
    indices = np.array([values.index(v) for v in geography], dtype=np.int32)
    indices[2100:] = len(values)
    big = pa.DictionaryArray.from_arrays(pa.array(indices), pa.array([*values, "x" * (33 << 20)]))
    table = table.set_column(table.column_names.index("Geography"), "Geography", big)
    path = tmp_path / "bomb.parquet"
    pq.write_table(table, path, row_group_size=1000, compression="zstd", store_schema=False,
                   dictionary_pagesize_limit=64 << 20)
    assert path.stat().st_size < 1 << 20
    out = tmp_path / "scored"
    result = invoke("predict", CHURN, path, "-o", out, "--dask", cluster, "--partition-size", "1kB")
    local = invoke("predict", CHURN, path)
    assert result.exit_code == local.exit_code == 1, result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert error == [line for line in local.stderr.splitlines() if line.startswith("Error:")]
    assert f"{path}:2101" in error[0] and "Geography" in error[0] and "33 MiB" in error[0], error
    assert not out.exists()


def test_scheduler_from_the_environment(cluster: str, tmp_path: Path) -> None:
    inputs = [write(churn(100, 0), tmp_path / "a.csv")]
    result = invoke("predict", CHURN, *inputs, "-o", tmp_path / "out", "--progress", env={"FLM_DASK": cluster})
    assert result.exit_code == 0, result.output
    assert f"dask: scheduler {cluster}" in result.stderr
    assert "scoring on dask" in result.stderr and "1/1" in result.stderr  # the bar, forced on
    assert read_parts(tmp_path / "out").equals(local_frame(CHURN, inputs, tmp_path))


class Gadget:
    """A pickle that would run a shell command: the workers' audit must refuse it without running it."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (self.command,))


def test_audit_failure_on_a_worker_exits_3(cluster: str, tmp_path: Path) -> None:
    from flmcli import flm

    marker = tmp_path / "pwned"
    model = tmp_path / "gadget.flm"
    flm.dump(Gadget(f"touch {marker}"), model)
    inputs = [write(churn(50), tmp_path / "a.parquet")]
    result = invoke("predict", model, *inputs, "-o", tmp_path / "out", "--dask", cluster)
    assert result.exit_code == 3, result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1
    assert "on worker tcp://127.0.0.1:" in error[0]
    assert "refusing to unpickle" in error[0] and "system" in error[0]
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_unreachable_scheduler_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inputs = [write(churn(10), tmp_path / "a.parquet")]
    env = {**os.environ, "FLM_DASK_TIMEOUT": "0.5"}  # the whole wait is spent retrying: keep it short
    done = subprocess.run([sys.executable, "-m", "flmcli", "predict", str(CHURN), str(inputs[0]), "-o",
                           str(tmp_path / "out"), "--dask", f"tcp://127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 0.5s"
    ] or (len(done.stderr.splitlines()) == 1 and done.stderr.startswith(
        f"Error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 0.5s: ")), done.stderr
    assert not (tmp_path / "out").exists()


def test_flm_process_with_the_scheduler_from_the_environment(cluster: str, tmp_path: Path) -> None:
    """`flm predict` itself a process too, the cluster named by FLM_DASK."""
    inputs = [write(churn(300, 0), tmp_path / "a.ndjson"), write(churn(200, 300), tmp_path / "b.parquet")]
    out = tmp_path / "scored"
    done = subprocess.run([sys.executable, "-m", "flmcli", "predict", str(CHURN), *map(str, inputs), "-o", str(out),
                           "--method", "predict_proba", "--keep", "CustomerId"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "FLM_DASK": cluster})
    assert done.returncode == 0, done.stderr
    assert f"dask: scheduler {cluster}, 2 worker(s)" in done.stderr
    expected = local_frame(CHURN, inputs, tmp_path, "--method", "predict_proba", "--keep", "CustomerId")
    assert read_parts(out).equals(expected)


@pytest.mark.parametrize("to", ["parquet", "csv", "ndjson"])
def test_inputs_of_no_rows_write_one_empty_part_as_local_writes_an_empty_file(cluster: str, tmp_path: Path,
                                                                              to: str) -> None:
    from tests.helpers import invoke as run  # shows the warning as the command does, on stderr

    empty_parquet = tmp_path / "none.parquet"
    pq.write_table(churn(0), empty_parquet)  # the churn columns, no row group
    (tmp_path / "none.csv").write_bytes(b"")
    for source in (empty_parquet, tmp_path / "none.csv"):
        out = tmp_path / f"scored-{source.suffix[1:]}"
        ran = run("predict", CHURN, source, "-o", out, "--dask", cluster, "--to", to)
        assert ran.returncode == 0, ran.stderr
        assert b"Warning: no rows" in ran.stderr
        assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", f"part-000000.{to}"]
        local = tmp_path / f"local-{source.suffix[1:]}.{to}"
        assert run("predict", CHURN, source, "-o", local, "--to", to).returncode == 0
        part = out / f"part-000000.{to}"
        if to == "parquet":
            assert pq.read_table(part).schema.names == pq.read_table(local).schema.names == ["prediction"]
            assert pq.read_table(part).num_rows == 0
        else:
            assert part.read_bytes() == local.read_bytes()


def test_worker_killed_mid_job_output_complete_and_identical(cluster: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Last in this module: it kills one of the shared cluster's two workers; the other finishes the job.

    The kill lands at a set point, not when a poll happens to see a part file: as the first part's task is
    handed to flm as done, the worker that holds its result (and is running another part) is killed, and flm
    reads that part only once Dask has reported its result lost. Dask computes a lost result again; flm must
    wait for it, not report "the task was lost" (what a kill at that moment did by chance under load).
    """
    import distributed
    from distributed import Client

    from flmcli import flm
    from tests.dask.dask_slow import Slow

    model = tmp_path / "slow.flm"
    flm.dump(Slow(0.4), model)
    # the same model without the wait, for the local run to compare with: its rows do not depend on the delay,
    # and 0.4 s per file locally was half of this test's time
    fast = tmp_path / "fast.flm"
    flm.dump(Slow(0.0), fast)
    # three parts per worker: the holder of the first result is still running one of its others when killed
    inputs = [write(pa.table({"x": [float(i * 10 + j) for j in range(10)]}), tmp_path / f"in{i:02d}.parquet")
              for i in range(6)]
    out = tmp_path / "scored"
    outcome: list[Result] = []
    seen: list[str] = []
    with Client(cluster) as client:
        pids = client.run(os.getpid)
        real_as_completed = distributed.as_completed

        def as_completed_killing_a_holder(futures: list[Any]) -> Iterator[Any]:
            for future in real_as_completed(futures):
                if not seen:
                    holder = client.who_has([future])[future.key][0]
                    os.kill(pids[holder], signal.SIGKILL)
                    deadline = time.monotonic() + 60
                    while future.status == "finished" and time.monotonic() < deadline:
                        time.sleep(0.002)
                    seen.append(future.status)  # "lost" (or already "pending"/"finished" again: Dask recomputes)
                yield future

        monkeypatch.setattr(distributed, "as_completed", as_completed_killing_a_holder)
        job = threading.Thread(target=lambda: outcome.append(
            invoke("predict", model, *inputs, "-o", out, "--dask", cluster, "--trust", "tests.dask.dask_slow.Slow")))
        job.start()
        job.join(timeout=120)
    assert seen and seen[0] != "finished", seen
    assert outcome and outcome[0].exit_code == 0, outcome[0].output if outcome else "the job did not end"
    scored = read_parts(out)
    assert len(list(out.glob("part-*"))) == 6
    assert not list(out.glob(".*"))
    expected = local_frame(fast, inputs, tmp_path, "--trust", "tests.dask.dask_slow.Slow")
    assert scored.equals(expected)
    assert scored["prediction"].tolist() == [2.0 * i for i in range(60)]
