"""v2 infer refuses, with a 400 naming the tensor, what the Open Inference Protocol says is a wrong request and
Triton refuses, where it was accepted and answered:
- an FP16 or FP32 value its datatype cannot hold (1e6 as FP16 became inf, 1e39 as FP32 too); a value it can hold is
  rounded to its precision, so JSON data and the same tensor sent binary by tritonclient give the same answer;
- an output asked for twice (it was answered twice, and tritonclient's as_numpy finds the first only);
- a BYTES tensor for a feature the metadata says is a number (FP64 sent as strings was read as numbers): the
  datatype must be a numeric one. A 2-D BYTES tensor stays accepted for a model of mixed types (the only tensor
  that holds such a row), and BYTES for a text feature or one the model's metadata only guesses at;
- a binary_data / binary_data_output parameter that is not a boolean ("yes" was read as false)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pytest
from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CHURN, CORPUS

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
ROW = {"CreditScore": 792, "Geography": "France", "Gender": "Female", "Age": 28, "Tenure": 4,
       "Balance": 130142.79, "NumOfProducts": 1, "HasCrCard": 1, "IsActiveMember": 0, "EstimatedSalary": 38190.78}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app({"churn": Predictor.from_path(CHURN), "iris": Predictor.from_path(IRIS)})) as client:
        yield client


def _churn(n: int = 1, **override: dict[str, Any]) -> dict[str, Any]:
    inputs = []
    for name, value in ROW.items():
        tensor = {"name": name, "shape": [n], "datatype": "BYTES" if isinstance(value, str) else "FP64",
                  "data": [value] * n}
        tensor.update(override.get(name, {}))
        inputs.append(tensor)
    return {"inputs": inputs}


def _error(response: Any) -> str:
    assert response.status_code == 400, response.text
    error: str = response.json()["error"]
    assert "\n" not in error
    return error


@pytest.mark.parametrize("datatype, value", [("FP16", 1e6), ("FP16", -65520.0), ("FP32", 1e39), ("FP32", -4e38)])
def test_a_value_past_the_datatypes_range_is_refused(client: TestClient, datatype: str, value: float) -> None:
    body = _churn(2, Balance={"datatype": datatype, "data": [1.0, value]})
    error = _error(client.post("/v2/models/churn/infer", json=body))
    assert "inputs[5] (Balance)" in error and f"value 1 ({value!r}) is past the range of {datatype}" in error


@pytest.mark.parametrize("datatype", ["FP16", "FP32"])
def test_values_in_range_are_rounded_as_binary_data_holds_them(client: TestClient, datatype: str) -> None:
    import tritonclient.http as th

    rows = np.array([[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [65504.0, 0.1, 0.3333, 2.71828]])
    answers = []
    for binary in (False, True):
        tensor = th.InferInput("input-0", list(rows.shape), datatype)
        tensor.set_data_from_numpy(rows.astype(np.float16 if datatype == "FP16" else np.float32), binary_data=binary)
        if not binary:  # the JSON data as a hand-written client sends it: the decimal values, not the rounded ones
            tensor._raw_data, tensor._parameters, tensor._data = None, {}, rows.ravel().tolist()
        outputs = [th.InferRequestedOutput("predict_proba", binary_data=False)]
        body, json_size = th.InferenceServerClient.generate_request_body([tensor], outputs)
        headers = {} if json_size is None else {"Inference-Header-Content-Length": str(json_size)}
        response = client.post("/v2/models/iris/infer", content=body, headers=headers)
        assert response.status_code == 200, response.text
        answers.append(response.json()["outputs"][0]["data"])
    assert answers[0] == answers[1]


@pytest.mark.parametrize("outputs", [
    [{"name": "predict"}, {"name": "predict"}],
    [{"name": "predict_proba"}, {"name": "predict"}, {"name": "predict_proba", "parameters": {"binary_data": True}}],
])
def test_an_output_asked_twice_is_refused(client: TestClient, outputs: list[dict[str, Any]]) -> None:
    error = _error(client.post("/v2/models/churn/infer", json={**_churn(), "outputs": outputs}))
    twice = len(outputs) - 1
    assert f"outputs[{twice}].name" in error and f"output {outputs[-1]['name']!r} is asked for twice" in error


@pytest.mark.parametrize("n", [1, 3, 200])  # one row (read in one pass), a few, a column batch
def test_bytes_for_a_number_feature_is_refused(client: TestClient, n: int) -> None:
    body = _churn(n, CreditScore={"datatype": "BYTES", "data": ["792"] * n})
    error = _error(client.post("/v2/models/churn/infer", json=body))
    assert "inputs[0] (CreditScore)" in error and "datatype BYTES" in error and "FP64" in error


def test_bytes_sent_in_the_order_of_unknown_names_is_refused_too(client: TestClient) -> None:
    body = _churn(2, CreditScore={"datatype": "BYTES", "data": ["792", "700"]})
    for i, tensor in enumerate(body["inputs"]):
        tensor["name"] = f"input-{i}"  # names the model does not know: taken in the order sent
    assert "inputs[0] (input-0)" in _error(client.post("/v2/models/churn/infer", json=body))


@pytest.mark.parametrize("body", [
    {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "BYTES", "data": ["5.1", "3.5", "1.4", "0.2"]}]},
    {"inputs": [{"name": f"input-{i}", "shape": [1], "datatype": "BYTES" if i == 2 else "FP64",
                 "data": ["1.4" if i == 2 else 1.0]} for i in range(4)]},
])
def test_bytes_for_a_model_of_numbers_is_refused(client: TestClient, body: dict[str, Any]) -> None:
    error = _error(client.post("/v2/models/iris/infer", json=body))
    assert "datatype BYTES" in error and "numbers" in error


def test_numbers_and_text_as_the_metadata_says_still_pass(client: TestClient) -> None:
    meta = client.get("/v2/models/churn").json()
    types = {tensor["name"]: tensor["datatype"] for tensor in meta["inputs"]}
    body = _churn(2)
    assert {tensor["name"]: tensor["datatype"] for tensor in body["inputs"]} == types
    assert client.post("/v2/models/churn/infer", json=body).status_code == 200
    # other numeric datatypes for a number: an integer tensor, FP32, BOOL for a 0/1 feature
    for name, datatype, data in [("Age", "INT64", [28, 30]), ("Balance", "FP32", [1.5, 2.0]),
                                 ("HasCrCard", "BOOL", [True, False])]:
        other = _churn(2, **{name: {"datatype": datatype, "data": data}})
        assert client.post("/v2/models/churn/infer", json=other).status_code == 200, (name, datatype)


def test_a_row_of_mixed_types_as_one_bytes_tensor_still_passes(client: TestClient) -> None:
    # churn's frame has 13 columns, 3 of them unread: the positional matrix is the model's 13 features
    names = Predictor.from_path(CHURN).spec.names or ()
    full = {name: str(ROW.get(name, 1)) for name in names}
    body = {"inputs": [{"name": "input-0", "shape": [2, len(names)], "datatype": "BYTES",
                        "data": list(full.values()) * 2}]}
    response = client.post("/v2/models/churn/infer", json=body)
    assert response.status_code == 200, response.text
    as_numbers = client.post("/v2/models/churn/infer", json=_churn(2))
    assert response.json()["outputs"] == as_numbers.json()["outputs"]


@pytest.mark.parametrize("where, parameters", [
    ("parameters", {"parameters": {"binary_data_output": "yes"}}),
    ("outputs[0].parameters", {"outputs": [{"name": "predict", "parameters": {"binary_data": 1}}]}),
])
def test_a_binary_flag_that_is_not_a_boolean_is_refused(client: TestClient, where: str,
                                                        parameters: dict[str, Any]) -> None:
    error = _error(client.post("/v2/models/churn/infer", content=orjson.dumps({**_churn(), **parameters})))
    assert where in error and "must be true or false" in error


def test_json_that_is_only_wrong_is_not_told_to_send_a_binary_header(client: TestClient) -> None:
    error = _error(client.post("/v2/models/churn/infer", content=b'{"inputs": [1e999]}'))
    assert "malformed JSON" in error and "Inference-Header-Content-Length" not in error
    error = _error(client.post("/v2/models/churn/infer", content=orjson.dumps(_churn()) + b"\x00\x01\xff"))
    assert "Inference-Header-Content-Length" in error
