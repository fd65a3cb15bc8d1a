"""A regressor fitted on several targets (LinearRegression on a 2-column y, alone or as a Pipeline's last step)
returns a row of values per row. v2 advertised its predict as FP64 [-1] and answered shape [n] with n x targets
values in data, a tensor that contradicts itself (tritonclient's as_numpy cannot reshape it). The metadata now
says [-1, targets] and the answer [n, targets]; a one-target model keeps [-1] and [n]."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import flmcli


def _models(tmp_path: Path) -> dict[str, tuple[Path, int]]:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.random.default_rng(0).normal(size=(50, 3))
    two = np.c_[X[:, 0], 2 * X[:, 1]]
    made: dict[str, tuple[Any, int]] = {
        "two": (LinearRegression().fit(X, two), 2),
        "pipeline-two": (make_pipeline(StandardScaler(), LinearRegression()).fit(X, two), 2),
        "one": (LinearRegression().fit(X, X[:, 0]), 1),
    }
    paths = {}
    for name, (model, targets) in made.items():
        path = tmp_path / f"{name}.flm"
        flmcli.dump(model, path)
        paths[name] = (path, targets)
    return paths


@pytest.mark.parametrize("name", ["two", "pipeline-two", "one"])
def test_predict_metadata_and_answer_agree(tmp_path: Path, name: str) -> None:
    from starlette.testclient import TestClient

    from flmcli.predictor import Predictor
    from flmcli.serve.app import create_app

    path, targets = _models(tmp_path)[name]
    with TestClient(create_app(Predictor.from_path(path, trust_all=True))) as client:
        meta = client.get("/v2/models/model").json()
        [predict] = [output for output in meta["outputs"] if output["name"] == "predict"]
        assert predict["shape"] == ([-1] if targets == 1 else [-1, targets])
        body = {"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [2, 3], "data": [0.1, 0.2, 0.3, -1, 0, 1]}],
                "outputs": [{"name": "predict"}]}
        answer = client.post("/v2/models/model/infer", json=body)
        assert answer.status_code == 200, answer.text
        [output] = answer.json()["outputs"]
        assert output["shape"] == ([2] if targets == 1 else [2, targets])
        assert len(output["data"]) == 2 * targets
