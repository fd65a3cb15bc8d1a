"""The one-pass check of plain JSON tensors accepts and decodes exactly what the step-by-step check does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from flmcli.errors import InputError
from flmcli.serve import tensors

CASES: list[dict[str, Any]] = [
    {"name": "a", "datatype": "FP64", "shape": [2], "data": [1.5, 2]},
    {"name": "a", "datatype": "FP64", "shape": [2], "data": [True, 2.0]},
    {"name": "a", "datatype": "FP64", "shape": [0], "data": []},
    {"name": "a", "datatype": "FP64", "shape": [2, 2], "data": [1.0, 2.0, 3.0, 4.0]},
    {"name": "a", "datatype": "FP64", "shape": [2, 2], "data": [[1.0, 2.0], [3.0, 4.0]]},
    {"name": "a", "datatype": "FP64", "shape": [3], "data": [1.0, 2.0]},
    {"name": "a", "datatype": "FP64", "shape": [1, 1, 1], "data": [1.0]},
    {"name": "a", "datatype": "FP64", "shape": [-1], "data": [1.0]},
    {"name": "a", "datatype": "FP64", "shape": [True], "data": [1.0]},
    {"name": "a", "datatype": "FP64", "shape": [1], "data": ["1.0"]},
    {"name": "a", "datatype": "FP64", "shape": [1], "data": [None]},
    {"name": "a", "datatype": "FP32", "shape": [1], "data": [1.0]},
    {"name": "a", "datatype": "INT64", "shape": [2], "data": [1, -7]},
    {"name": "a", "datatype": "INT64", "shape": [2], "data": [1, 2.0]},
    {"name": "a", "datatype": "INT64", "shape": [1], "data": [2**63]},
    {"name": "a", "datatype": "INT64", "shape": [1], "data": [False]},
    {"name": "a", "datatype": "INT64", "shape": [0], "data": []},
    {"name": "a", "datatype": "BYTES", "shape": [2], "data": ["x", "é"]},
    {"name": "a", "datatype": "BYTES", "shape": [2], "data": ["x", 1]},
    {"name": "a", "datatype": "BYTES", "shape": [1], "data": [["x"]]},
    {"name": 3, "datatype": "FP64", "shape": [1], "data": [1.0]},
    {"name": "a", "datatype": "FP64", "shape": [1], "data": [1.0], "parameters": {}},
    {"name": "a", "datatype": "FP64", "shape": [1], "data": [1.0], "parameters": {"binary_data_size": 8}},
    {"name": "a", "datatype": "FP64", "shape": [1], "other": [1.0]},
    {"name": "a", "datatype": "fp64", "shape": [1], "data": [1.0]},
]


def outcome(spec: dict[str, Any]) -> Any:
    try:
        tensor, used = tensors._decode(spec, 2, None, 0)
    except InputError as error:
        return ("error", str(error))
    values = tensor.values
    return (tensor.name, tensor.shape, tensor.datatype, tensor.where, used, type(values).__name__,
            values.dtype.str if isinstance(values, np.ndarray) else None,
            values.tolist() if isinstance(values, np.ndarray) else values)


@pytest.mark.parametrize("spec", CASES, ids=lambda spec: repr(spec)[:60])
def test_the_fast_path_decodes_as_the_full_checks_do(spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fast = outcome(spec)
    monkeypatch.setattr(tensors, "_plain_json", lambda spec, index: None)
    assert fast == outcome(spec)


def test_the_fast_path_is_taken_for_plain_columns() -> None:
    for datatype, data in (("FP64", [1.0, 2]), ("INT64", [3]), ("BYTES", ["x"])):
        spec = {"name": "c", "datatype": datatype, "shape": [len(data)], "data": data}
        assert tensors._plain_json(spec, 0) is not None
