"""A v2 request giving a key twice in one object is refused (400 naming the key): orjson kept the last value and
Triton's parser keeps the first, so `"inputs"` twice, or a tensor's `"datatype"` or `"data"` twice, was answered
from one of them here and from the other by Triton. Colons inside strings (an id "a:b", BYTES "12:30") and nested
parameters are not mistaken for keys."""

from __future__ import annotations

import orjson
import pytest

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CORPUS
from tests.serve.test_config import post

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
TENSOR = b'{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}'
OTHER = b'{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [7.7, 3.0, 6.1, 2.3]}'


@pytest.mark.parametrize("body, key", [
    (b'{"inputs": [' + TENSOR + b'], "inputs": [' + OTHER + b"]}", "inputs"),
    (b'{"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "datatype": "BYTES", '
     b'"data": [5.1, 3.5, 1.4, 0.2]}]}', "datatype"),
    (b'{"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2], '
     b'"data": [7.7, 3.0, 6.1, 2.3]}]}', "data"),
    (b'{"id": "a", "id": "b", "inputs": [' + TENSOR + b"]}", "id"),
    (b'{"inputs": [' + TENSOR + b'], "outputs": [{"name": "predict", "parameters": {"binary_data": false, '
     b'"binary_data": true}}]}', "binary_data"),
])
def test_a_key_twice_is_refused(body: bytes, key: str) -> None:
    app = create_app({"iris": Predictor.from_path(IRIS)})
    response = post(app, "/v2/models/iris/infer", content=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == (f"body: field {key!r}: given twice in one object (which value is meant, "
                                        "JSON leaves undefined)")


def test_colons_in_strings_are_not_keys() -> None:
    body = {"id": "a:b:c", "parameters": {"note": {"x": "1:2"}},
            "inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}],
            "outputs": [{"name": "predict", "parameters": {"binary_data": False}}]}
    app = create_app({"iris": Predictor.from_path(IRIS)})
    response = post(app, "/v2/models/iris/infer", content=orjson.dumps(body))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "a:b:c"
