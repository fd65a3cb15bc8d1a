"""The fast lane (serve/lane.py) answers what the routes answer: the same status, headers and bytes, the same
errors, timeouts and metrics; it takes only what it is meant to, and the rest reaches the app as before."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve import app as app_module
from flmcli.serve import lane as lane_module
from flmcli.serve import v2 as v2_module
from tests.helpers import CHURN

IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]


@pytest.fixture(scope="module")
def churn() -> Predictor:
    return Predictor.from_path(CHURN)


def _churn_rows(n: int) -> list[Any]:
    row = [10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]
    return [[*row[:6], 20 + i % 50, *row[7:]] for i in range(n)]


def _v2(rows: list[Any], outputs: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    columns = list(zip(*rows))
    inputs = [{"name": f"input-{i}", "shape": [len(rows)], "datatype": "BYTES" if isinstance(c[0], str) else "FP64",
               "data": [v if isinstance(v, str) else float(v) for v in c]} for i, c in enumerate(columns)]
    body: dict[str, Any] = {"inputs": inputs, **extra}
    if outputs is not None:
        body["outputs"] = [{"name": name} for name in outputs]
    return body


GOOD = _churn_rows(3)
# (path, body, headers): each is sent through the lane and around it.
REQUESTS: list[tuple[str, bytes, dict[str, str]]] = [
    ("/predict/", json.dumps({"input": GOOD[:1]}).encode(), {}),
    ("/predict/", json.dumps({"input": GOOD}).encode(), {"content-type": "application/json"}),
    ("/churn/predict/", json.dumps({"input": GOOD}).encode(), {"accept": "application/json"}),
    ("/predict_proba/", json.dumps({"input": GOOD}).encode(), {"accept": "*/*"}),
    ("/churn/predict_proba/", json.dumps({"input": GOOD[:2]}).encode(), {}),
    ("/predict/", json.dumps([GOOD[0]]).encode(), {}),  # a bare array: the reader's path inside the lane
    ("/predict/", json.dumps({"input": [[*GOOD[0][:6], "old", *GOOD[0][7:]]]}).encode(), {}),  # a bad value
    ("/predict/", json.dumps({"input": [GOOD[0], 7]}).encode(), {}),  # a bad row
    ("/predict/", b'{"input": [[1, 2]', {}),  # malformed
    ("/predict/", b'{"rows": []}', {}),
    ("/predict/", b"   ", {}),
    ("/predict_proba/", json.dumps({"input": _churn_rows(400)}).encode(), {"accept-encoding": "gzip"}),  # gzipped
    ("/predict_proba/", json.dumps({"input": _churn_rows(60)}).encode(), {"accept-encoding": "br"}),  # large, plain
    ("/v2/models/churn/infer", json.dumps(_v2(GOOD, ["predict"])).encode(), {}),
    ("/v2/models/churn/versions/1/infer", json.dumps(_v2(GOOD[:1], ["predict_proba"], id="r-1")).encode(), {}),
    ("/v2/models/churn/infer", json.dumps(_v2(GOOD[:2], id=7)).encode(), {}),
    ("/v2/models/churn/infer", json.dumps(_v2(GOOD, ["nope"])).encode(), {}),
    ("/v2/models/churn/infer", json.dumps({"inputs": []}).encode(), {}),
    ("/v2/models/churn/infer", b"{", {}),
    ("/v2/models/churn/infer", json.dumps(_v2(GOOD, ["predict"], parameters={"binary_data_output": True})).encode(),
     {}),
]


def _answers(app: Any, requests: list[tuple[str, bytes, dict[str, str]]]) -> list[tuple[int, dict[str, str], bytes]]:
    out = []
    with TestClient(app) as client:
        for path, body, headers in requests:
            response = client.post(path, content=body, headers=headers)
            kept = {k: v for k, v in response.headers.items() if k != "content-length"}
            content = response.content
            if headers.get("accept-encoding") == "gzip":
                assert response.headers.get("content-encoding") == "gzip"
            out.append((response.status_code, kept, content))
    return out


@pytest.fixture()
def lane_taken(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths the lane answered, in order."""
    taken: list[str] = []
    answer = lane_module.FastLane._answer

    async def spy(self: Any, lane: Any, headers: Any, scope: Any, receive: Any, send: Any) -> None:
        taken.append(scope["path"])
        await answer(self, lane, headers, scope, receive, send)

    monkeypatch.setattr(lane_module.FastLane, "_answer", spy)
    yield taken


def _app(churn: Predictor, **settings: Any) -> Any:
    from flmcli.serve import create_app

    return create_app({"churn": churn}, **settings)


def test_the_lane_answers_exactly_as_the_routes(churn: Predictor, lane_taken: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    through = _answers(_app(churn), REQUESTS)
    assert lane_taken == [path for path, _, _ in REQUESTS]
    lane_taken.clear()
    monkeypatch.setattr(lane_module, "LANE_BODY", 0)  # nothing fits the lane: every request takes the routes
    around = _answers(_app(churn), REQUESTS)
    assert lane_taken == []
    for request, a, b in zip(REQUESTS, through, around):
        if request[0].startswith("/v2") and b"binary_data_output" not in request[1]:
            # a v2 answer without an id carries a fresh UUID
            a_doc, b_doc = json.loads(a[2]), json.loads(b[2])
            if "id" in a_doc and "id" not in json.loads(request[1]):
                a_doc["id"] = b_doc["id"] = "-"
            assert (a[0], a[1], a_doc) == (b[0], b[1], b_doc), request
        elif request[0].startswith("/v2"):
            assert (a[0], a[1]) == (b[0], b[1]), request
        else:
            assert a == b, request
    statuses = [status for status, _, _ in through]
    assert statuses.count(200) == 12 and set(statuses) == {200, 400}


def test_the_lane_takes_only_plain_small_json(churn: Predictor, lane_taken: list[str]) -> None:
    body = json.dumps({"input": GOOD[:1]}).encode()
    with TestClient(_app(churn)) as client:
        assert client.post("/predict/", content=body).status_code == 200
        others = [
            client.post("/predict/?keep_input=true", content=body),
            client.post("/predict/", content=body, headers={"accept": "application/x-ndjson"}),
            client.post("/predict/", content=gzip.compress(body), headers={"content-encoding": "gzip"}),
            client.post("/predict/", content=iter([body])),  # chunked: no Content-Length
            client.post("/predict/", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"}),
            client.post("/predict/", content=body, headers={"content-type": "application/xml"}),  # 415 by the app
            client.post("/predict/", content=body, headers={"accept": "image/png"}),  # 406 by the app
            client.post("/predict/", content=json.dumps({"input": _churn_rows(1000)}).encode()),  # > 64 KiB
            client.post("/v2/models/other/infer", content=json.dumps(_v2(GOOD)).encode()),  # 404 by the app
            client.post("/v2/models/churn/versions/2/infer", content=json.dumps(_v2(GOOD)).encode()),
            client.post("/predict", content=body, follow_redirects=False),  # the app redirects to /predict/
        ]
        assert [r.status_code for r in others] == [200, 200, 200, 200, 400, 415, 406, 200, 404, 404, 307]
    assert lane_taken == ["/predict/"]


def test_the_body_limit_below_the_lanes_size_still_holds(churn: Predictor, lane_taken: list[str]) -> None:
    body = json.dumps({"input": GOOD}).encode()
    with TestClient(_app(churn, max_body_size=len(body) - 1)) as client:
        response = client.post("/predict/", content=body)
    assert response.status_code == 413
    assert lane_taken == []


def test_metrics_count_lane_requests_under_their_routes(churn: Predictor, lane_taken: list[str]) -> None:
    body = json.dumps({"input": GOOD[:1]}).encode()
    with TestClient(_app(churn)) as client:
        for _ in range(3):
            client.post("/predict/", content=body)
        client.post("/churn/predict_proba/", content=body)
        client.post("/predict/", content=b"{")
        client.post("/v2/models/churn/infer", content=json.dumps(_v2(GOOD)).encode())
        text = client.get("/metrics").text
    assert len(lane_taken) == 6
    assert 'flm_requests_total{model="churn",route="predict"} 4.0' in text
    assert 'flm_requests_total{model="churn",route="predict_proba"} 1.0' in text
    assert 'flm_requests_total{model="v2",route="infer"} 1.0' in text
    assert 'flm_request_errors_total{model="churn",route="predict",status="400"} 1.0' in text


def _call(app: Any, path: str, body: bytes, stall: bool) -> tuple[int, dict[str, Any]]:
    """One request through the ASGI app with a Content-Length; with `stall` the body never comes."""
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        async def receive() -> dict[str, Any]:
            if stall:
                await asyncio.sleep(3600)
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"x"), (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000)}
        await asyncio.wait_for(app(scope, receive, send), 20)

    asyncio.run(run())
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def test_timeouts_in_the_lane(churn: Predictor, lane_taken: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps({"input": GOOD[:1]}).encode()
    app = _app(churn, timeout=0.5)
    status, answer = _call(app, "/predict/", body, stall=True)
    assert status == 408 and "did not arrive within 0.5 s" in answer["error"]

    slow = Predictor.from_path(CHURN)
    call = slow.call

    def sleepy(X: Any, method: str | None = None) -> Any:
        time.sleep(1.5)
        return call(X, method)

    monkeypatch.setattr(slow, "call", sleepy)
    status, answer = _call(_app(slow, timeout=0.5), "/predict/", body, stall=False)
    assert status == 504 and "no answer within 0.5 s" in answer["error"]
    assert lane_taken == ["/predict/", "/predict/"]


def test_a_route_that_fails_unexpectedly_is_500_as_before(churn: Predictor, lane_taken: list[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(app_module, "predict_answer", broken)
    monkeypatch.setattr(v2_module, "infer_answer", broken)
    with TestClient(_app(churn), raise_server_exceptions=False) as client:
        one = client.post("/predict/", content=json.dumps({"input": GOOD[:1]}).encode())
        two = client.post("/v2/models/churn/infer", content=json.dumps(_v2(GOOD)).encode())
    assert (one.status_code, one.json()) == (500, {"error": "internal error"})
    assert (two.status_code, two.json()) == (500, {"error": "internal error"})
    assert lane_taken == ["/predict/", "/v2/models/churn/infer"]
