"""A v2 FP64 column of JSON floats goes into the rows as the floats it holds (no float64 array and back): the rows,
and so the answers, are those of the same columns read through numpy (a column with an integer in it)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve import create_app, tensors, v2
from tests.helpers import CHURN

ROWS = [[10000 + i, 15628319 + i, "Walker", 792.0 - i, "France" if i % 2 else "Spain", "Female", 28.0 + i % 40,
         4.0, 130142.79 * (i % 3), 1.0, 1.0, float(i % 2), 38190.78 + i / 7] for i in range(300)]


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app({"churn": Predictor.from_path(CHURN)})


def _body(rows: list[list[Any]], as_ints: bool) -> bytes:
    inputs = []
    for j, name in enumerate(Predictor.from_path(CHURN).spec.names or ()):
        column = [row[j] for row in rows]
        if isinstance(column[0], str):
            inputs.append({"name": name, "datatype": "BYTES", "shape": [len(column)], "data": column})
        else:
            data = [float(value) for value in column]
            if as_ints and data[0] == int(data[0]):
                data[0] = int(data[0])  # one integer: the column is read through numpy
            inputs.append({"name": name, "datatype": "FP64", "shape": [len(column)], "data": data})
    return json.dumps({"inputs": inputs}).encode()


def test_float_columns_make_the_rows_numpy_would(app: Any) -> None:
    served = app.state.models["churn"]
    kept = v2._read(_body(ROWS, as_ints=False), None, served)[1].tolist()
    through_numpy = v2._read(_body(ROWS, as_ints=True), None, served)[1].tolist()
    assert kept == through_numpy
    assert all(type(value) is float for row in kept for value in row if not isinstance(value, str))
    plain = tensors.decode_inputs(orjson.loads(_body(ROWS, as_ints=False))["inputs"], None)
    assert any(isinstance(tensor.values, list) and tensor.datatype == "FP64" for tensor in plain)


def test_the_answers_are_those_of_predict(app: Any) -> None:
    with TestClient(app) as client:
        answer = client.post("/v2/models/churn/infer", content=_body(ROWS, as_ints=False)).json()
        expected = client.post("/churn/predict/", json={"input": ROWS}).json()
    assert answer["outputs"][0]["data"] == expected["output"]
