"""A body of no rows that names its columns (a CSV header, a Parquet schema) is checked as rows would be: the
wrong columns are a 400 naming the missing one, as `flm predict` fails on the same file (it was a 200 with an
empty body)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CHURN

HEADER = ("RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,HasCrCard,"
          "IsActiveMember,EstimatedSalary")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        yield client


def _parquet(names: list[str]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.schema([(name, pa.float64()) for name in names]).empty_table(), sink)
    return sink.getvalue()


def test_a_header_of_the_wrong_columns_is_400(client: TestClient) -> None:
    for body, kind in ((b"a,b,c\n", "text/csv"), (b"a\tb\n", "text/tab-separated-values"),
                       (_parquet(["a", "b"]), "application/vnd.apache.parquet")):
        response = client.post("/predict/", content=body, headers={"Content-Type": kind})
        assert response.status_code == 400, (kind, response.text)
        assert response.json()["error"] == "input: field 'RowNumber': missing column"


def test_a_header_of_the_models_columns_is_200(client: TestClient) -> None:
    response = client.post("/predict/", content=(HEADER + "\n").encode(),
                           headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    assert (response.status_code, response.text) == (200, "prediction\n")
    response = client.post("/predict/", content=(HEADER + "\n").encode(), headers={"Content-Type": "text/csv",
                                                                                  "Accept": "application/json"})
    assert (response.status_code, response.json()) == (200, {"output": []})
