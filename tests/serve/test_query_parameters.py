"""The Flama routes take `?method=`, `?keep_input=` and `?keep=`. Any other query parameter (`?features=`,
`?output_name=`, the typo `?keep-input=true`) was silently ignored, so the answer was not the one asked for: it
is a 400 naming it. So is a parameter given twice, and `?method=` on a per-method route (its schema has none)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CHURN

BODY = {"input": [[10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]]}
ALL = "method, keep_input, keep"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        yield client


@pytest.mark.parametrize(("query", "error"), [
    ("/predict/?features=Age,Tenure", f"query: field 'features': unknown parameter; this route takes {ALL}"),
    ("/predict/?output_name=churned", f"query: field 'output_name': unknown parameter; this route takes {ALL}"),
    ("/predict/?keep-input=true", f"query: field 'keep-input': unknown parameter; this route takes {ALL}"),
    ("/predict/?method=predict&method=predict_proba", "query: field 'method': given twice"),
    ("/predict_proba/?method=predict", "query: field 'method': unknown parameter; this route takes keep_input, keep"),
    ("/predict/?%0A%1B=1", f"query: field '\\n\\x1b': unknown parameter; this route takes {ALL}"),
])
def test_a_parameter_the_route_does_not_take_is_400(client: TestClient, query: str, error: str) -> None:
    response = client.post(query, json=BODY)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": error}


@pytest.mark.parametrize(("query", "output"), [
    ("/predict/", [0]),
    ("/predict/?", [0]),
    ("/predict/?method=predict_proba", [[0.8229, 0.1771]]),
    ("/predict_proba/?keep_input=false", [[0.8229, 0.1771]]),
])
def test_the_parameters_it_takes_still_work(client: TestClient, query: str, output: list[object]) -> None:
    response = client.post(query, json=BODY)
    assert response.status_code == 200, response.text
    got = response.json()["output"]
    assert [[round(p, 4) for p in row] for row in got] == output if isinstance(got[0], list) else got == output
