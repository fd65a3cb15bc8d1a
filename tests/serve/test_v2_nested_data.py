"""A v2 tensor's JSON data, flat or nested as its shape (one `[n, k]` tensor is how tritonclient and generated
clients send a matrix): flattened and type-checked in one pass per level (tensors._flatten), with the errors it
always gave, and answered as `/predict/` answers the same rows."""

from __future__ import annotations

import random
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flmcli.errors import InputError
from flmcli.predictor import Predictor
from flmcli.serve import create_app, tensors
from tests.helpers import CORPUS
from tests.serve.test_config import post

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
DIABETES = CORPUS / "flama-2.2.2_diabetes-rf_zstd_p2.flm"


def by_sets(data: list[Any]) -> tuple[list[Any], set[type]] | str:
    """What _flatten did with a set of the types found at each level: the reference it must agree with."""
    flat = data
    for _ in range(2):
        kinds = set(map(type, flat))
        if list not in kinds:
            return flat, kinds
        if kinds != {list}:
            return "data mixes arrays and values at one level"
        flat = list(chain.from_iterable(flat))
    if any(type(item) is list for item in flat):
        return "data nests deeper than 2 levels"
    return flat, set(map(type, flat))


def nested(rng: random.Random, depth: int) -> Any:
    if depth and rng.random() < 0.9:
        return [nested(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return rng.choice([1.5, 2, "x", True, None, 0.0])


@pytest.mark.parametrize("datatype", ["FP64", "INT64", "BYTES", "BOOL"])
def test_flattening_agrees_with_sets_of_types(datatype: str) -> None:
    rng = random.Random(datatype)
    cases: list[Any] = [[], [1.0], [[1.0, 2.0], [3.0, 4.0]], [[[1.0]]], [[[[1.0]]]], [1.0, [2.0]], [[1.0, [2.0]]],
                        [[[1.0], 2.0]], [["a", "b"]], [[1, 2], [3, 4.0]], [[True], [False]]]
    cases += [nested(rng, rng.randint(1, 5)) for _ in range(500)]
    for data in cases:
        if not isinstance(data, list):
            continue
        try:
            found: Any = tensors._flatten(data, datatype, "x")
        except InputError as error:
            found = error.reason
        expected = by_sets(data)
        if isinstance(expected, str):
            assert found == expected, (data, found)
        else:
            assert found == expected, data


@pytest.mark.parametrize("path", [IRIS, DIABETES], ids=lambda p: p.name)
@pytest.mark.parametrize("n", [3, 40])
def test_a_matrix_tensor_answers_as_predict(path: Path, n: int) -> None:
    predictor = Predictor.from_path(path)
    width = predictor.spec.expected or 4
    rows = np.random.default_rng(n).normal(size=(n, width)).round(3).tolist()
    rows[0][0] = 1  # an integer among the floats: read through numpy, the same values
    app = create_app({"m": predictor})
    expected = post(app, "/predict/", json={"input": rows}).json()["output"]
    for data in (rows, list(chain.from_iterable(rows))):
        response = post(app, "/v2/models/m/infer", json={
            "inputs": [{"name": "x", "datatype": "FP64", "shape": [n, width], "data": data}],
            "outputs": [{"name": "predict"}]})
        assert response.status_code == 200, response.text
        assert response.json()["outputs"][0]["data"] == expected


@pytest.mark.parametrize("data, message", [
    ([[[[1.0]]]], "data nests deeper than 2 levels"),
    ([[1.0, [2.0]]], "data mixes arrays and values at one level"),
    ([[1.0, 2.0], 3.0], "data mixes arrays and values at one level"),
    ([[1.0, "2"]], "value 1 ('2') is not FP64"),
])
def test_bad_nesting_and_values_are_refused_as_before(data: Any, message: str) -> None:
    app = create_app({"iris": Predictor.from_path(IRIS)})
    response = post(app, "/v2/models/iris/infer", json={
        "inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 2], "data": data}]})
    assert response.status_code == 400
    assert message in response.json()["error"], response.json()
