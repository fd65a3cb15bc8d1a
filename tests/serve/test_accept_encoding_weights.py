"""flm serve gzips a large answer only when the request's Accept-Encoding accepts gzip, weights read as RFC 9110
§12.5.3 says: `gzip;q=0` refuses it (and was answered in gzip: Starlette's GZipMiddleware looks for the word
"gzip" anywhere in the header), `*` accepts it unless gzip is listed at 0 (and was answered plain). Both ways to an
answer are checked: the fast lane (a small JSON body to v2 infer) and the app's middleware (a query option)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from flmcli.serve.gzip_answers import accepts_gzip
from tests.helpers import CORPUS

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
ROWS = 300  # answers of ~10 kB (v2) and ~2 kB (/predict/), over the 1,400-byte threshold

CASES = [
    ("gzip", True), ("GZIP", True), ("gzip;q=0.5", True), ("br, gzip;q=0.1", True), ("x-gzip", True),
    ("*", True), ("deflate, *;q=0.2", True), ("gzip ; q=1.0", True),
    ("gzip;q=0", False), ("gzip; q=0.000", False), ("x-gzip;q=0", False), ("gzip;q=0, *", False),
    ("*;q=0", False), ("identity", False), ("br, deflate", False), ("", False), ("gzip;q=zero", False),
    ("notgzip", False),
]


@pytest.mark.parametrize(("value", "accepted"), CASES)
def test_accepts_gzip(value: str, accepted: bool) -> None:
    assert accepts_gzip(value) is accepted


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app({"iris": Predictor.from_path(IRIS)})) as client:
        yield client


def _requests(client: TestClient, headers: list[tuple[str, str]]) -> list[tuple[str | None, int]]:
    """(Content-Encoding, status) of the answer through the lane and through the app's middleware."""
    v2 = {"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [ROWS, 4], "data": [5.1, 3.5, 1.4, 0.2] * ROWS}]}
    lane = client.post("/v2/models/iris/infer", json=v2, headers=headers)
    app = client.post("/iris/predict/?method=predict_proba", json={"input": [[5.1, 3.5, 1.4, 0.2]] * ROWS},
                      headers=headers)
    for response in (lane, app):
        assert response.status_code == 200, response.text
        assert len(response.content) > 1400
        response.json()  # decoded, when it came gzipped
    return [(lane.headers.get("content-encoding"), lane.status_code), (app.headers.get("content-encoding"),
                                                                       app.status_code)]


@pytest.mark.parametrize(("value", "accepted"), CASES)
def test_served_answers_follow_the_weights(client: TestClient, value: str, accepted: bool) -> None:
    expected = ("gzip" if accepted else None, 200)
    assert _requests(client, [("Accept-Encoding", value)]) == [expected, expected]


def test_several_accept_encoding_headers_are_one_list(client: TestClient) -> None:
    assert _requests(client, [("Accept-Encoding", "br"), ("Accept-Encoding", "gzip")]) == [("gzip", 200)] * 2
    assert _requests(client, [("Accept-Encoding", "*"), ("Accept-Encoding", "gzip;q=0")]) == [(None, 200)] * 2
