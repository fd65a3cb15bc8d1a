"""`flm serve` under concurrency: dynamic batching keeps every caller's rows its own; schemathesis; a load run.

In-process (TestClient) where the app is the point; real processes on 127.0.0.1 for the bounded load run and for
`--workers 2`, which only a process can show.
"""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient

from tests.helpers import DATA, ROOT
from tests.serve.test_app import CHURN, CHURN_ROWS, IRIS, Server, app_client, spawn, stop, wait_ready

# the module's real servers start once, on one xdist worker
pytestmark = pytest.mark.xdist_group("serve-load")

SAMPLE = ROOT / "samples" / "churn_loss.py"



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real `flm serve` with two worker processes on 127.0.0.1, for the load run and the workers test."""
    started = spawn(tmp_path_factory.mktemp("serve-load"), {"churn": CHURN, "iris": IRIS}, workers=2,
                    log_level="warning")
    try:
        yield wait_ready(started)
    finally:
        stop(started)


@pytest.fixture(scope="module")
def multi() -> Iterator[TestClient]:
    with app_client({"churn": CHURN, "iris": IRIS}) as client:
        yield client


def sample_app() -> Any:
    """samples/churn_loss.py's app, as its script builds it (the script is a file, not a module we install)."""
    spec = importlib.util.spec_from_file_location("churn_loss", SAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_app(str(CHURN))


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


def test_concurrent_requests_each_get_exactly_their_own_rows(
    multi: TestClient, churn_rows: list[list[Any]], churn_predictor: Any
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

    def send(request: dict[str, Any]) -> Any:
        return multi.post(f"/churn/predict/?method={request['method']}", json={"input": request["rows"]})

    # Threads share the client's one event loop, so requests overlap there and the batcher may merge them.
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
    # How many requests shared a model call depends on thread timing: not asserted here.


def schema_app(predictors: Any = None) -> Any:
    from flmcli.serve.app import create_app
    from flmcli.serve.runner import load_predictors

    return create_app(predictors or load_predictors({"churn": str(CHURN), "iris": str(IRIS)}))


def load_schema() -> Any:
    """The app's OpenAPI schema, read at collection (schemathesis.pytest.from_fixture does not work with this
    pytest) without running the app's lifespan."""
    return schemathesis.openapi.from_dict(TestClient(schema_app()).get("/schema/").json())


api = load_schema()


@pytest.fixture(scope="module")
def served() -> Any:
    from flmcli.serve.runner import load_predictors

    return load_predictors({"churn": str(CHURN), "iris": str(IRIS)})


@api.parametrize()
# Schemathesis generates JSON bodies only; the binary and line formats are covered by test_app's format matrix.
@pytest.mark.filterwarnings("ignore:Skipped test cases with unsupported payload media types:UserWarning")
# Derandomized and bounded: the same examples every run, so a failure is a bug, never a bad draw.
@settings(max_examples=5, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error(case: Any, served: Any) -> None:
    from schemathesis.checks import not_a_server_error

    # A new app (same predictors) per test: schemathesis stops the app's lifespan after each test, and an app
    # runs one lifespan in its life, as under uvicorn.
    case.call_and_validate(app=schema_app(served), checks=[not_a_server_error])


def test_bounded_load_has_no_error_and_no_mismatch(server: Server, churn_rows: list[list[Any]],
                                                   churn_predictor: Any) -> None:
    """Real connections to a real uvicorn on 127.0.0.1, 400 requests from 16 clients; stops by itself."""
    rows = churn_rows[:400]
    expected = _direct(churn_predictor, rows, "predict").tolist()

    def worker(offset: int) -> list[tuple[int, int, Any]]:
        seen = []
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for i in range(offset, len(rows), 16):
                response = client.post("/churn/predict/", json={"input": [rows[i]]})
                seen.append((i, response.status_code, response.json().get("output")))
        return seen

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = [item for part in pool.map(worker, range(16)) for item in part]
    assert len(results) == len(rows)
    assert [status for _, status, _ in results if status != 200] == []
    assert [i for i, _, output in results if output != [expected[i]]] == []


def test_workers_each_serve_the_model(server: Server) -> None:
    from tests.serve.test_app import IRIS_ROWS, manifest_entry

    expected = manifest_entry(IRIS)["expected_outputs"]["predict"]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        outputs = [client.post("/iris/predict/", json={"input": IRIS_ROWS}).json()["output"] for _ in range(20)]
        assert outputs == [expected] * 20
        assert client.get("/v2/models/iris/ready").json() == {"name": "iris", "ready": True}
    # Last use of this server: it must stop cleanly on Ctrl-C, workers and all.
    assert stop(server) == 0
    log = server.log()
    assert "Traceback" not in log


def test_sample_churn_loss_endpoint(churn_predictor: Any) -> None:
    import numpy as np

    from flmcli.flm import load

    params = json.loads(load(CHURN).artifacts["artifact.json"])
    churn = _direct(churn_predictor, CHURN_ROWS, "predict_proba")[:, list(churn_predictor.estimator.classes_).index(1)]
    income = np.array([row[-1] for row in CHURN_ROWS], dtype=float)
    expected = churn * (params["agents_per_client"] * income - params["operational_cost"])
    with TestClient(sample_app()) as client:
        response = client.post("/churn/loss/", json={"input": CHURN_ROWS})
        assert response.status_code == 200, response.text
        assert np.allclose(response.json()["output"], expected, rtol=1e-12, atol=0)
        bad = client.post("/churn/loss/", json={"input": [CHURN_ROWS[0], CHURN_ROWS[0][:4]]})
        assert bad.status_code == 400 and bad.json()["error"].startswith("input:2:")
        assert client.post("/churn/predict/", json={"input": CHURN_ROWS[:1]}).status_code == 200
        assert "/churn/loss/" in client.get("/schema/").json()["paths"]
