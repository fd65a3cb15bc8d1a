"""v2 infer: an INT64 or UINT64 tensor's value written as a float is checked against the datatype's range exactly.

The top of each range (2**63 - 1, 2**64 - 1) rounds up to a power of two as a float, so 9223372036854775808.0 (one
past INT64) passed the check and wrapped to -2**63 when made an integer, and 18446744073709551616 (one past
UINT64, which orjson reads as a float) became 0: the model scored a value the client never sent, answered 200.
Integers sent beside floats in one tensor are taken as they came, not through float64 (where 2**63 - 1 became
2**63 and wrapped too)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from flmcli.errors import InputError
from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from flmcli.serve.tensors import decode_inputs
from tests.helpers import CORPUS

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"


def _tensor(datatype: str, data: list[Any]) -> list[dict[str, Any]]:
    return [{"name": "x", "datatype": datatype, "shape": [len(data)], "data": data}]


@pytest.mark.parametrize(("datatype", "value"), [
    ("INT64", 9223372036854775808.0),    # 2**63
    ("INT64", -9223372036854777856.0),   # the float below -2**63
    ("UINT64", 18446744073709551616.0),  # 2**64
    ("INT32", 2147483648.0),
    ("UINT8", 256.0),
])
def test_a_float_one_past_the_range_is_refused(datatype: str, value: float) -> None:
    with pytest.raises(InputError, match=f"value 1 .* is not {datatype}"):
        decode_inputs(_tensor(datatype, [1.0, value]), None)


@pytest.mark.parametrize(("datatype", "value"), [
    ("INT64", -9223372036854775808.0), ("UINT64", 18446744073709549568.0), ("INT32", 2147483647.0),
])
def test_a_float_at_the_edge_of_the_range_is_the_integer_it_stands_for(datatype: str, value: float) -> None:
    (tensor,) = decode_inputs(_tensor(datatype, [1.0, value]), None)
    assert [int(v) for v in tensor.values] == [1, int(value)]


@pytest.mark.parametrize(("datatype", "value"), [
    ("INT64", 2**63 - 1), ("INT64", -(2**63)), ("INT64", 2**53 + 1), ("UINT64", 2**64 - 1),
])
def test_integers_beside_floats_are_kept_as_sent(datatype: str, value: int) -> None:
    (tensor,) = decode_inputs(_tensor(datatype, [1.0, value]), None)
    assert [int(v) for v in tensor.values] == [1, value]


@pytest.mark.parametrize(("datatype", "value"), [("INT64", 2**63), ("UINT64", -1), ("INT8", 128)])
def test_integers_beside_floats_past_the_range_are_refused(datatype: str, value: int) -> None:
    with pytest.raises(InputError, match=f"value 1 .* is not {datatype}"):
        decode_inputs(_tensor(datatype, [1.0, value]), None)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app({"iris": Predictor.from_path(IRIS)})) as client:
        yield client


@pytest.mark.parametrize(("datatype", "value"), [
    ("INT64", "9223372036854775808.0"), ("UINT64", "18446744073709551616"),
])
def test_served_one_past_the_range_is_a_400(client: TestClient, datatype: str, value: str) -> None:
    tensor = '{"name":"input-0","datatype":"' + datatype + '","shape":[1,4],"data":[1,2,3,' + value + "]}"
    body = '{"inputs":[' + tensor + "]}"
    response = client.post("/v2/models/iris/infer", content=body)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": f"body: field 'inputs[0] (input-0)': value 3 ({float(value)!r}) is not "
                                        f"{datatype}"}


def test_served_edge_of_int64_scores_the_value_sent(client: TestClient) -> None:
    def scores(data: str) -> Any:
        body = '{"inputs":[{"name":"input-0","datatype":"INT64","shape":[1,4],"data":[' + data + "]}]}"
        response = client.post("/v2/models/iris/infer", content=body)
        assert response.status_code == 200, response.text
        return next(o["data"] for o in response.json()["outputs"] if o["name"] == "decision_function")

    # 2**63 - 1 sent as an integer beside floats scores as it does among integers (it wrapped to -2**63)
    assert np.allclose(scores("1.0,2,3,9223372036854775807"), scores("1,2,3,9223372036854775807"))
