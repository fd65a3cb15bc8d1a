"""?keep=a,a names a field twice: 400 naming it, as `flm predict --keep a,a` is a usage error (the CSV answer
carried the column twice)."""

from __future__ import annotations

from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CHURN

ROW = [10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]
HEADER = ("RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,HasCrCard,"
          "IsActiveMember,EstimatedSalary")


def test_a_kept_field_named_twice_is_400() -> None:
    body = (HEADER + "\n" + ",".join(map(str, ROW)) + "\n").encode()
    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        twice = client.post("/predict/?keep=Age,%20Age", content=body, headers={"Content-Type": "text/csv"})
        once = client.post("/predict/?keep=Age", content=body, headers={"Content-Type": "text/csv"})
    assert twice.status_code == 400, twice.text
    assert "'Age'" in twice.json()["error"] and "twice" in twice.json()["error"]
    assert once.status_code == 200 and once.text.splitlines()[0] == "Age,prediction"
