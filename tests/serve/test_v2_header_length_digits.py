"""Inference-Header-Content-Length is a count of bytes written in ASCII digits: Python's int() also took "1_0",
"+10" and " 10", so a malformed header was read as a length, and the body cut there (a 400 about malformed JSON
rather than about the header)."""

from __future__ import annotations

import orjson
import pytest

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CORPUS
from tests.serve.test_config import post

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
HEADER = orjson.dumps({"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64",
                                   "parameters": {"binary_data_size": 32}}]})
DATA = b"\x00" * 32


@pytest.mark.parametrize("length", ["1_0", "+10", "0x10", "1e2", "-1", ""])
def test_a_length_that_is_not_digits_is_refused_as_such(length: str) -> None:
    app = create_app({"iris": Predictor.from_path(IRIS)})
    response = post(app, "/v2/models/iris/infer", content=HEADER + DATA,
                    headers={"Inference-Header-Content-Length": length})
    assert response.status_code == 400
    assert "field 'Inference-Header-Content-Length'" in response.json()["error"], response.text


def test_digits_pass() -> None:
    app = create_app({"iris": Predictor.from_path(IRIS)})
    response = post(app, "/v2/models/iris/infer", content=HEADER + DATA,
                    headers={"Inference-Header-Content-Length": str(len(HEADER))})
    assert response.status_code == 200, response.text
