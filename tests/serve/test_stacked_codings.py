"""`Content-Encoding: gzip, gzip` (codings one over the other, RFC 9110 8.4), or the same as two headers, is undone
layer by layer, last applied first: it answered 415 (the list read as one unknown coding), and of two headers only
the last was undone. Each layer is bounded by the body limit as one layer is (a layered bomb is 413, not memory), and
a pile of more than MAX_LAYERS codings is refused with 415 saying why."""

from __future__ import annotations

import gzip
import warnings
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from flmcli.serve.decoding import MAX_LAYERS
from tests.helpers import CORPUS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette 1.x asks for httpx2; the TestClient works with httpx
    from starlette.testclient import TestClient

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
LIMIT = 2 * 1024 * 1024
BODY = b'{"input": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}'
V2 = b'{"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]}'


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    from flmcli.predictor import Predictor
    from flmcli.serve import create_app

    with TestClient(create_app({"iris": Predictor.from_path(IRIS)}, max_body_size=LIMIT)) as test_client:
        yield test_client


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]
    return message


@pytest.mark.parametrize(("headers", "packed"), [
    ([("Content-Encoding", "gzip, gzip")], gzip.compress(gzip.compress(BODY))),
    ([("Content-Encoding", "deflate, gzip")], gzip.compress(zlib.compress(BODY))),  # deflate applied first
    ([("Content-Encoding", "gzip"), ("Content-Encoding", "x-gzip")], gzip.compress(gzip.compress(BODY))),
    ([("Content-Encoding", "gzip, identity, GZIP")], gzip.compress(gzip.compress(BODY))),
], ids=["one-header", "deflate-then-gzip", "two-headers", "identity-between"])
def test_each_layer_is_undone(client: TestClient, headers: list[tuple[str, str]], packed: bytes) -> None:
    response = client.post("/iris/predict/", content=packed, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"output": [0, 2]}


def test_v2_too(client: TestClient) -> None:
    response = client.post("/v2/models/iris/infer", content=gzip.compress(gzip.compress(V2)),
                           headers={"Content-Encoding": "gzip, gzip", "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == [0]


def test_an_inner_layer_that_inflates_past_the_limit_is_413(client: TestClient) -> None:
    bomb = gzip.compress(gzip.compress(b"[" + b" " * (50 * LIMIT) + b"]", 9), 9)
    assert len(bomb) < 10_000
    assert "inflates past the limit" in _error(
        client.post("/iris/predict/", content=bomb, headers={"Content-Encoding": "gzip, gzip"}), 413)


def test_too_many_layers_are_415_saying_why(client: TestClient) -> None:
    packed = BODY
    for _ in range(MAX_LAYERS + 1):
        packed = gzip.compress(packed)
    message = _error(client.post("/iris/predict/", content=packed,
                                 headers={"Content-Encoding": ", ".join(["gzip"] * (MAX_LAYERS + 1))}), 415)
    assert f"{MAX_LAYERS + 1} content codings" in message and f"at most {MAX_LAYERS}" in message


def test_an_unknown_coding_in_the_list_is_named(client: TestClient) -> None:
    message = _error(client.post("/iris/predict/", content=gzip.compress(BODY),
                                 headers={"Content-Encoding": "gzip, br"}), 415)
    assert "'br'" in message


def test_a_layer_missing_from_the_body_is_400(client: TestClient) -> None:
    # Declared twice, applied once: the second layer is JSON, not gzip.
    assert "cannot decompress" in _error(
        client.post("/iris/predict/", content=gzip.compress(BODY), headers={"Content-Encoding": "gzip, gzip"}), 400)
