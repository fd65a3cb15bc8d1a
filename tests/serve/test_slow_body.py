"""A client that stops sending its request body gets 408 Request Timeout (its own fault), not 504 Gateway
Timeout, which says the server failed to answer in time; a slow model is still 504."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import orjson

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CHURN


def call(app: Any, method: str, path: str, body_parts: list[bytes], stall: bool) -> tuple[int, dict[str, Any]]:
    """One request through the ASGI app, its body sent in parts, then (if `stall`) nothing more."""
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        parts = list(body_parts)

        async def receive() -> dict[str, Any]:
            if parts:
                part = parts.pop(0)
                return {"type": "http.request", "body": part, "more_body": bool(parts) or stall}
            await asyncio.sleep(3600)  # the client went quiet
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"x"), (b"content-type", b"application/json")],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000)}
        started = asyncio.Event()
        stop = asyncio.Event()

        async def lifespan_receive() -> dict[str, Any]:
            if not started.is_set():
                return {"type": "lifespan.startup"}
            await stop.wait()
            return {"type": "lifespan.shutdown"}

        async def lifespan_send(message: dict[str, Any]) -> None:
            started.set()

        lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan_receive,
                                           lifespan_send))
        await started.wait()  # the batchers run, as under uvicorn
        try:
            await asyncio.wait_for(app(scope, receive, send), 20)
        finally:
            stop.set()
            await asyncio.wait_for(lifespan, 20)

    asyncio.run(run())
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], orjson.loads(body)


def test_a_body_that_stops_arriving_is_408() -> None:
    app = create_app({"churn": Predictor.from_path(CHURN)}, timeout=0.3)
    for path in ("/churn/predict/", "/v2/models/churn/infer"):
        status, answer = call(app, "POST", path, [b'{"input": [[1'], stall=True)
        assert status == 408, (path, answer)
        assert "body" in answer["error"]


def test_a_slow_model_is_still_504() -> None:
    rows = [[10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]] * 3000
    app = create_app({"churn": Predictor.from_path(CHURN)}, timeout=0.001)
    status, answer = call(app, "POST", "/churn/predict/", [json.dumps({"input": rows}).encode()], stall=False)
    assert status == 504, answer
