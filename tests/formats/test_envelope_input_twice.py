"""Flama's body `{"input": [...]}` giving "input" twice is refused, naming the field, as a row giving a field twice
is: the rows of both arrays were scored (ijson yields the items of every "input" key), so one input row of each
became three output rows, with exit 0. Wherever "input" sits (first key or not), whatever reads the body (the
orjson chunks, ijson on the way the body is laid out, the server)."""

from __future__ import annotations

import pytest

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CORPUS, invoke
from tests.serve.test_config import post

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
ROW = b"[5.1, 3.5, 1.4, 0.2]"
BODIES = [
    b'{"input": [' + ROW + b'], "input": [' + ROW + b", " + ROW + b"]}",
    # "input" spelt with an escape: not the opening the chunked reader knows, so ijson reads the body from its start
    b'{"\\u0069nput": [' + ROW + b'], "input": [' + ROW + b"]}",
    b'{\n  "input": [\n    ' + ROW + b'\n  ],\n  "input": []\n}\n',
    b'{"input": [' + b", ".join([ROW] * 3000) + b'], "input": [' + ROW + b"]}",  # past the first chunk
]


@pytest.mark.parametrize("body", BODIES, ids=["first", "not-first", "pretty", "long"])
@pytest.mark.parametrize("keep", [[], ["--keep-input"]])
def test_predict_refuses_it(body: bytes, keep: list[str]) -> None:
    ran = invoke("predict", IRIS, *keep, input=body)
    assert ran.returncode == 1, ran.stdout[-200:]
    lines = ran.stderr.decode().splitlines()
    assert lines[0] == ("Error: <stdin>: field 'input': given twice in the body (which one is meant, JSON leaves "
                        "undefined)"), lines


@pytest.mark.parametrize("body", BODIES[:2], ids=["first", "not-first"])
def test_serve_refuses_it(body: bytes) -> None:
    app = create_app({"iris": Predictor.from_path(IRIS)})
    response = post(app, "/iris/predict/", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "field 'input': given twice" in response.json()["error"]


@pytest.mark.parametrize("body", [
    b'{"input": [' + ROW + b', [[' + ROW + b"]]]}",  # an "input" deeper down is not the envelope's
    b'{"input": [' + ROW + b', ["input"]]}',
])
def test_one_input_still_passes(body: bytes) -> None:
    ran = invoke("predict", IRIS, "--on-error", "null", input=body)
    assert (ran.returncode, ran.stdout) == (0, b"[0,null]\n"), ran.stderr
