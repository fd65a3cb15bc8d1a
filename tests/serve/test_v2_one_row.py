"""A single-row v2 request of one plain tensor per named feature is read in one pass (v2._plain_row) into the
very row the general path (tensors, columns, an object matrix) makes of it; anything else is left to that path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from flmcli.errors import InputError
from flmcli.predictor import Predictor
from flmcli.serve import create_app, tensors, v2
from tests.helpers import CHURN

ROW = [10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]


@pytest.fixture(scope="module")
def served() -> Any:
    app = create_app({"churn": Predictor.from_path(CHURN)})
    return app.state.models["churn"]


def _inputs(served: Any, row: list[Any] = ROW, ints: bool = False) -> list[dict[str, Any]]:
    names = served.predictor.spec.names
    out = []
    for name, value in zip(names, row):
        if isinstance(value, str):
            out.append({"name": name, "datatype": "BYTES", "shape": [1], "data": [value]})
        elif ints and isinstance(value, int):
            out.append({"name": name, "datatype": "INT64", "shape": [1], "data": [value]})
        else:
            out.append({"name": name, "datatype": "FP64", "shape": [1], "data": [value]})
    return out


def _general(inputs: Any, served: Any) -> Any:
    try:
        columns, n = v2._columns(tensors.decode_inputs(copy.deepcopy(inputs), None), served)
    except InputError as error:
        return error
    return v2._rows(columns, n)


def _variants(served: Any) -> list[tuple[str, Any]]:
    base = _inputs(served)
    cases: list[tuple[str, Any]] = [("floats and ints as FP64", base), ("INT64", _inputs(served, ints=True)),
                                    ("reversed order", base[::-1])]

    def changed(label: str, index: int, **fields: Any) -> None:
        inputs = copy.deepcopy(base)
        inputs[index].update(fields)
        cases.append((label, inputs))

    changed("a float given as INT64", 3, datatype="INT64", data=[792.0])
    changed("an integral float as INT64", 3, datatype="INT64", data=[792.5])
    changed("a bool", 3, data=[True])
    changed("shape [True]", 3, shape=[True])
    changed("shape [1, 1]", 3, shape=[1, 1])
    changed("nested data", 3, data=[[792.0]])
    changed("two values", 3, shape=[2], data=[1.0, 2.0])
    changed("FP32", 3, datatype="FP32")
    changed("a huge int", 3, data=[2**70])
    changed("INT64 past 64 bits", 3, datatype="INT64", data=[2**63])
    changed("INT64 at its edge", 3, datatype="INT64", data=[-(2**63)])
    changed("a number as BYTES", 2, data=[7])
    changed("text as FP64", 3, data=["792"])
    changed("an unknown name", 3, name="nope")
    changed("a name twice", 3, name=base[4]["name"])
    changed("a null", 3, data=[None])
    cases.append(("a missing input", base[:-1]))
    extra = copy.deepcopy(base)
    extra[0]["parameters"] = {}
    cases.append(("parameters", extra))
    cases.append(("not a list", {"a": 1}))
    cases.append(("empty", []))
    cases.append(("a tensor that is not an object", [*base[:-1], "x"]))
    return cases


def test_the_one_pass_row_is_the_general_paths_row(served: Any) -> None:
    taken = 0
    for label, inputs in _variants(served):
        fast = v2._plain_row(copy.deepcopy(inputs), served)
        general = _general(inputs, served)
        if fast is None:
            continue
        taken += 1
        assert isinstance(general, list) and len(general) == 1, label
        assert fast == general[0], label
        assert [type(v) for v in fast] == [type(v) for v in general[0]], label
    assert taken == 4


def test_what_the_one_pass_read_takes(served: Any) -> None:
    taken = [label for label, inputs in _variants(served) if v2._plain_row(copy.deepcopy(inputs), served) is not None]
    assert taken == ["floats and ints as FP64", "INT64", "reversed order", "INT64 at its edge"]


def test_answers_and_errors_through_the_route_are_unchanged(served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app({"churn": served.predictor})
    bodies = [json.dumps({"inputs": inputs, "outputs": [{"name": "predict_proba"}], "id": "x"}).encode()
              for _, inputs in _variants(served)]
    with TestClient(app) as client:
        fast = [(r.status_code, r.content) for r in (client.post("/v2/models/churn/infer", content=b) for b in bodies)]
    monkeypatch.setattr(v2, "_plain_row", lambda inputs, served: None)
    with TestClient(create_app({"churn": served.predictor})) as client:
        general = [(r.status_code, r.content) for r in (client.post("/v2/models/churn/infer", content=b)
                                                        for b in bodies)]
    assert fast == general
    assert [status for status, _ in fast].count(200) >= 5
