"""`?method=` naming no method flm runs lists the methods this model has, as a method the model lacks does: it
listed every method flm knows (transform, decision_function, score_samples for churn's Pipeline, which has none
of them)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CHURN

ROW = {"input": [[10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]]}


@pytest.mark.parametrize("method", ["fit", "__init__", "transform"])
def test_the_error_lists_only_the_models_methods(method: str) -> None:
    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        answer = client.post(f"/predict/?method={method}", json=ROW)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error.endswith("has predict, predict_proba"), error
    assert repr(method) in error or f"no {method}" in error
