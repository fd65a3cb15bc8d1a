"""A key beside "input" in Flama's body `{"input": [...]}` is refused, naming it, by `flm predict` and by `flm serve`
alike: it was ignored, so `{"input": [...], "method": "predict_proba"}` answered predict's classes with exit 0 and a
misspelt key beside an old "input" scored the old rows without a word. Wherever the key sits (before or after the
rows, past the first chunk, in a pretty-printed body), whichever reader takes the body (orjson chunks, ijson)."""

from __future__ import annotations

import orjson
import pytest

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CORPUS, invoke
from tests.serve.test_config import post

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
ROW = b"[5.1, 3.5, 1.4, 0.2]"
# body, the key refused, the rows scored before it (as before a syntax error: never those of another key)
BODIES = {
    "after": (b'{"input": [' + ROW + b'], "method": "predict_proba"}', "method", 1),
    "before": (b'{"method": "predict_proba", "input": [' + ROW + b"]}", "method", 0),
    "typo-beside": (b'{"input": [' + ROW + b'], "inputs": [' + ROW + b", " + ROW + b"]}", "inputs", 1),
    "pretty": (b'{\n  "input": [\n    ' + ROW + b'\n  ],\n  "x": 1\n}\n', "x", 1),
    "long": (b'{"input": [' + b", ".join([ROW] * 100_000) + b'], "x": [' + ROW + b"]}", "x", 100_000),  # past a chunk
    "escaped": (b'{"\\u0069nput": [' + ROW + b'], "meta": {}}', "meta", 1),
}
IDS = list(BODIES)


@pytest.mark.parametrize("name", IDS)
def test_predict_refuses_it_naming_the_key(name: str) -> None:
    body, key, before = BODIES[name]
    ran = invoke("predict", IRIS, input=body)
    assert ran.returncode == 1, ran.stdout[-200:]
    lines = ran.stderr.decode().splitlines()
    assert lines[0] == (f"Error: <stdin>: field '{key}': not a field of the body; send {{\"input\": [[...], ...]}},"
                        " and no other field"), lines
    assert len(orjson.loads(ran.stdout or b"[]")) == before


@pytest.mark.parametrize("name", IDS)
def test_serve_refuses_it_naming_the_key(name: str) -> None:
    body, key, _ = BODIES[name]
    app = create_app({"iris": Predictor.from_path(IRIS)})
    response = post(app, "/iris/predict/", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text[:200]
    assert f"field '{key}': not a field of the body" in response.json()["error"]


def test_the_method_key_says_where_the_method_is_chosen() -> None:
    ran = invoke("predict", IRIS, input=BODIES["before"][0])
    assert "--method, or ?method= in flm serve" in ran.stderr.decode()


def test_the_envelope_alone_still_scores() -> None:
    ran = invoke("predict", IRIS, input=b'{"input": [' + ROW + b", " + ROW + b"]}")
    assert (ran.returncode, ran.stdout) == (0, b"[0,0]\n"), ran.stderr
