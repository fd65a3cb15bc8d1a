"""`flm serve` under concurrency: dynamic batching keeps every caller's rows its own; schemathesis; a load run."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.helpers import DATA, ROOT
from tests.serve.test_app import CHURN, CHURN_ROWS, IRIS, Server, free_port, spawn, stop, wait_ready

SAMPLE = ROOT / "samples" / "churn_loss.py"



@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    tmp = tmp_path_factory.mktemp("serve-load")
    started = {
        "multi": spawn(tmp, {"churn": CHURN, "iris": IRIS}, log_level="warning"),
        "workers": spawn(tmp, {"iris": IRIS}, workers=2),
        "sample": sample_server(tmp),
    }
    try:
        yield {name: wait_ready(server) for name, server in started.items()}
    finally:
        for server in started.values():
            stop(server)


def sample_server(tmp: Path) -> Server:
    port = free_port()
    stderr = tmp / "sample.log"
    with open(stderr, "wb") as err:
        process = subprocess.Popen([sys.executable, str(SAMPLE), str(CHURN), "--port", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=err)
    return Server(process, f"http://127.0.0.1:{port}", stderr)


@pytest.fixture(scope="module")
def churn_rows() -> list[list[Any]]:
    import pyarrow.parquet as pq

    table = pq.read_table(DATA).drop_columns(["Exited"])
    return [list(row.values()) for row in table.slice(0, 2000).to_pylist()]


@pytest.fixture(scope="module")
def churn_predictor() -> Any:
    from flmcli.predictor import Predictor

    return Predictor.from_path(CHURN)


def _direct(predictor: Any, rows: list[list[Any]], method: str) -> Any:
    import numpy as np

    array = np.empty((len(rows), len(rows[0])), dtype=object)
    array[:] = rows
    return getattr(predictor.estimator, method)(array)


def _samples(text: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line and not line.startswith("#")}


def test_concurrent_requests_each_get_exactly_their_own_rows(
    servers: dict[str, Server], churn_rows: list[list[Any]], churn_predictor: Any
) -> None:
    import numpy as np

    rng = random.Random(7)
    requests: list[dict[str, Any]] = []
    position = 0
    for index in range(150):
        size = rng.randint(1, 6)
        rows = [list(row) for row in churn_rows[position : position + size]]
        position += size
        method = "predict_proba" if index % 3 == 0 else "predict"
        bad = None
        if index % 9 == 4:  # a structurally bad row: fails before any merge
            bad = rng.randrange(size)
            rows[bad] = rows[bad][:7]
        elif index % 9 == 7:  # a bad value: the merged call fails, every request is retried alone
            bad = rng.randrange(size)
            rows[bad][6] = "not an age"
        requests.append({"rows": rows, "method": method, "bad": bad})

    limits = httpx.Limits(max_connections=24, max_keepalive_connections=24)
    with httpx.Client(base_url=servers["multi"].url, timeout=60, limits=limits) as client:

        def send(request: dict[str, Any]) -> httpx.Response:
            return client.post(f"/churn/predict/?method={request['method']}", json={"input": request["rows"]})

        with ThreadPoolExecutor(max_workers=24) as pool:
            responses = list(pool.map(send, requests))

    for request, response in zip(requests, responses):
        if request["bad"] is not None:
            assert response.status_code == 400, response.text
            assert response.json()["error"].startswith(f"input:{request['bad'] + 1}:")
            continue
        assert response.status_code == 200, response.text
        got = response.json()["output"]
        expected = _direct(churn_predictor, request["rows"], request["method"])
        if request["method"] == "predict":
            assert got == expected.tolist()
        else:
            # Merged calls may differ from a lone call in the last bit of a float (BLAS kernels differ by
            # batch shape); the rows must still be the caller's own.
            assert np.allclose(got, expected, rtol=1e-12, atol=0)
    histogram = _samples(httpx.get(servers["multi"].url + "/metrics").text)
    merged = histogram['flm_batch_requests_sum{model="churn"}']
    calls = histogram['flm_batch_requests_count{model="churn"}']
    assert merged > calls  # some model calls served more than one request


def test_schemathesis_finds_no_server_error(servers: dict[str, Server]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", servers["multi"].url + "/schema/",
         "--checks", "not_a_server_error", "--max-examples", "5", "--workers", "2", "--seed", "1",
         "--phases", "examples,fuzzing", "--request-timeout", "60", "--no-color"],
        check=False, capture_output=True, text=True, timeout=240,
    )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert re.search(r"\d+ generated, \d+ passed", summary), summary


def test_bounded_load_has_no_error_and_no_mismatch(servers: dict[str, Server], churn_rows: list[list[Any]],
                                                   churn_predictor: Any) -> None:
    rows = churn_rows[:400]
    expected = _direct(churn_predictor, rows, "predict").tolist()

    def worker(offset: int) -> list[tuple[int, int, Any]]:
        seen = []
        with httpx.Client(base_url=servers["multi"].url, timeout=60) as client:
            for i in range(offset, len(rows), 16):
                response = client.post("/churn/predict/", json={"input": [rows[i]]})
                seen.append((i, response.status_code, response.json().get("output")))
        return seen

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = [item for part in pool.map(worker, range(16)) for item in part]
    assert len(results) == len(rows)
    assert [status for _, status, _ in results if status != 200] == []
    assert [i for i, _, output in results if output != [expected[i]]] == []


def test_workers_each_serve_the_model(servers: dict[str, Server]) -> None:
    from tests.serve.test_app import IRIS_ROWS, manifest_entry

    expected = manifest_entry(IRIS)["expected_outputs"]["predict"]
    with httpx.Client(base_url=servers["workers"].url, timeout=60) as client:
        outputs = [client.post("/predict/", json={"input": IRIS_ROWS}).json()["output"] for _ in range(20)]
        assert outputs == [expected] * 20
        assert client.get("/v2/models/iris/ready").json() == {"name": "iris", "ready": True}
    # Last use of this server: it must stop cleanly on Ctrl-C, workers and all.
    assert stop(servers["workers"]) == 0
    log = servers["workers"].log()
    assert "Traceback" not in log


def test_sample_churn_loss_endpoint(servers: dict[str, Server], churn_predictor: Any) -> None:
    import numpy as np

    from flmcli.flm import load

    params = json.loads(load(CHURN).artifacts["artifact.json"])
    churn = _direct(churn_predictor, CHURN_ROWS, "predict_proba")[:, list(churn_predictor.estimator.classes_).index(1)]
    income = np.array([row[-1] for row in CHURN_ROWS], dtype=float)
    expected = churn * (params["agents_per_client"] * income - params["operational_cost"])
    with httpx.Client(base_url=servers["sample"].url, timeout=60) as client:
        response = client.post("/churn/loss/", json={"input": CHURN_ROWS})
        assert response.status_code == 200, response.text
        assert np.allclose(response.json()["output"], expected, rtol=1e-12, atol=0)
        bad = client.post("/churn/loss/", json={"input": [CHURN_ROWS[0], CHURN_ROWS[0][:4]]})
        assert bad.status_code == 400 and bad.json()["error"].startswith("input:2:")
        assert client.post("/churn/predict/", json={"input": CHURN_ROWS[:1]}).status_code == 200
        assert "/churn/loss/" in client.get("/schema/").json()["paths"]
