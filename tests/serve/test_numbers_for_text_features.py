"""serve refuses a number for a feature trained as text as `flm predict` does (tests/cli/...): a 400 naming the
row and the column, on Flama's routes and on v2, where churn's metadata says Geography is BYTES."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CHURN

ROW = {"RowNumber": 1, "CustomerId": 2, "Surname": "W", "CreditScore": 792, "Geography": "France",
       "Gender": "Female", "Age": 28, "Tenure": 4, "Balance": 130142.79, "NumOfProducts": 1, "HasCrCard": 1,
       "IsActiveMember": 0, "EstimatedSalary": 38190.78}
REASON = "expected text (the model was trained on categories: 'France', 'Germany', 'Spain'), got the number 5"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        yield client


def test_flama_route(client: TestClient) -> None:
    response = client.post("/predict/", json={"input": [ROW, {**ROW, "Geography": 5}]})
    assert response.status_code == 400
    assert response.json() == {"error": f"input:2: field 'Geography': {REASON}"}
    assert client.post("/predict/", json={"input": [ROW, {**ROW, "Geography": "5"}]}).status_code == 200


def _tensor(name: str, value: object) -> dict[str, object]:
    datatype = "BYTES" if isinstance(value, str) else "FP64"
    return {"name": name, "shape": [2], "datatype": datatype, "data": [ROW[name] if name != "Geography" else "Spain",
                                                                       value]}


def test_v2_infer(client: TestClient) -> None:
    inputs = [_tensor(name, value) for name, value in ROW.items() if name not in ("RowNumber", "CustomerId", "Surname")]
    geography = next(t for t in inputs if t["name"] == "Geography")
    geography.update(datatype="FP64", data=[1, 5])
    response = client.post("/v2/models/model/infer", json={"inputs": inputs})
    assert response.status_code == 400
    assert response.json()["error"].startswith("input:1: field 'Geography': expected text")
