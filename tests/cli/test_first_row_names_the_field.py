"""A bad value in the first row (a one-row input, the most common check by hand) named no field: "the model cannot
use this row: Cannot use median strategy with non-numeric data:", because the field was found by swapping in
a row that had scored, and none had. Stand-in values (a category for a text feature, 0.0 otherwise) name it now,
in the CLI and in serve."""

from __future__ import annotations

import orjson
import pytest
from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CHURN, invoke

ROW = {"RowNumber": 1, "CustomerId": 2, "Surname": "W", "CreditScore": 792, "Geography": "France",
       "Gender": "Female", "Age": 28, "Tenure": 4, "Balance": 130142.79, "NumOfProducts": 1, "HasCrCard": 1,
       "IsActiveMember": 0, "EstimatedSalary": 38190.78}
REASON = "the model cannot use the value 'old' (Cannot use median strategy with non-numeric data:)"


@pytest.mark.parametrize("field", ["Age", "Balance", "CreditScore"])
def test_the_first_rows_bad_field_is_named(field: str) -> None:
    ran = invoke("predict", CHURN, input=orjson.dumps({**ROW, field: "old"}) + b"\n")
    assert ran.returncode == 1
    assert ran.stderr.decode() == f"Error: <stdin>:1: field '{field}': {REASON}\n"


def test_as_a_csv_row_and_an_array_row() -> None:
    csv = (",".join(ROW) + "\n" + ",".join(str(v) for v in {**ROW, "Age": "old"}.values()) + "\n").encode()
    ran = invoke("predict", CHURN, "--from", "csv", input=csv)
    assert ran.stderr.decode() == f"Error: <stdin>:2: field 'Age': {REASON}\n"
    ran = invoke("predict", CHURN, input=orjson.dumps([list({**ROW, "Age": "old"}.values())]))
    assert ran.stderr.decode() == f"Error: <stdin>:1: field 'Age': {REASON}\n"


def test_two_bad_fields_still_name_the_row() -> None:
    ran = invoke("predict", CHURN, input=orjson.dumps({**ROW, "Age": "old", "Tenure": "long"}) + b"\n")
    assert ran.returncode == 1
    assert ran.stderr.decode().startswith("Error: <stdin>:1: the model cannot use this row:")


def test_serve_names_it_too() -> None:
    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        response = client.post("/predict/", json={"input": [{**ROW, "Age": "old"}]})
    assert response.status_code == 400
    assert response.json() == {"error": f"input:1: field 'Age': {REASON}"}
