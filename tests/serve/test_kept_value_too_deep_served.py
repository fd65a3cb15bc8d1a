"""`flm serve` with ?keep_input=true and an NDJSON answer: a kept value the answer cannot hold (nested past JSON's
255 levels) is a 400 naming its row and field, as for a JSON answer; the NDJSON answer was streamed, so the client
got a 200 whose body stopped after the rows before it (the connection dropped mid-body)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import orjson
import pytest

from tests.helpers import CHURN

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette 1.x asks for httpx2; the TestClient works with httpx
    from starlette.testclient import TestClient

ROW = {"RowNumber": 1, "CustomerId": 15634602, "Surname": "Hargrave", "CreditScore": 619, "Geography": "France",
       "Gender": "Female", "Age": 42, "Tenure": 2, "Balance": 0.0, "NumOfProducts": 1, "HasCrCard": 1,
       "IsActiveMember": 1, "EstimatedSalary": 101348.88}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    from flmcli.predictor import Predictor
    from flmcli.serve import create_app

    with TestClient(create_app({"churn": Predictor.from_path(CHURN)})) as test_client:
        yield test_client


def body(depth: int) -> bytes:
    deep = orjson.dumps(ROW)[:-1] + b',"x":' + b"[" * depth + b"1" + b"]" * depth + b"}"
    return b'{"input": [' + orjson.dumps(ROW) + b"," + deep + b"]}"


@pytest.mark.parametrize("accept", ["application/x-ndjson", "application/json"])
def test_a_row_the_answer_cannot_hold_is_400(client: TestClient, accept: str) -> None:
    response = client.post("/churn/predict/?keep_input=true", content=body(300), headers={"accept": accept})
    assert response.status_code == 400, response.content[:200]
    assert response.json()["error"] == ("input:2: field 'x': a kept value is nested deeper than JSON output can "
                                        "write (255 levels)")


def test_rows_it_can_hold_are_answered_as_ndjson(client: TestClient) -> None:
    response = client.post("/churn/predict/?keep_input=true", content=body(200),
                           headers={"accept": "application/x-ndjson"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert [line["Surname"] for line in lines] == ["Hargrave", "Hargrave"] and lines[1]["prediction"] in (0, 1)
