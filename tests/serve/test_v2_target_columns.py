"""v2 metadata gives predict the shape infer answers for every regressor fitted on several targets, not only those
with `n_outputs_` or a 2-D `coef_`: a kNN regressor (alone or in a Pipeline), a Gaussian process, KernelRidge, a
MultiOutputRegressor, a RegressorChain, a TransformedTargetRegressor around any of them. They were advertised
FP64 [-1] and answered [n, k]; fitted on one target they stay [-1] and [n]."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

import flmcli
from flmcli.predictor import Predictor
from flmcli.serve.app import create_app


def _estimator(kind: str) -> Any:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import Ridge
    from sklearn.multioutput import MultiOutputRegressor, RegressorChain
    from sklearn.neighbors import KNeighborsRegressor, RadiusNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "knn": lambda: KNeighborsRegressor(3),
        "knn-pipeline": lambda: make_pipeline(StandardScaler(), KNeighborsRegressor(3)),
        "radius": lambda: RadiusNeighborsRegressor(radius=5.0),
        "gaussian-process": GaussianProcessRegressor,
        "kernel-ridge": KernelRidge,
        "multi-output": lambda: MultiOutputRegressor(Ridge()),
        "chain": lambda: RegressorChain(Ridge()),
        "target-transformed-knn": lambda: TransformedTargetRegressor(KNeighborsRegressor(3)),
    }[kind]()


KINDS = ["knn", "knn-pipeline", "radius", "gaussian-process", "kernel-ridge", "multi-output", "chain",
         "target-transformed-knn"]


@pytest.mark.parametrize("targets", [3, 1])
@pytest.mark.parametrize("kind", KINDS)
def test_metadata_gives_the_shape_infer_answers(tmp_path: Path, kind: str, targets: int) -> None:
    if targets == 1 and kind in ("multi-output", "chain"):
        pytest.skip("fitted on several targets only")
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.c_[X[:, 0], 2 * X[:, 1], X[:, 2] - 1] if targets == 3 else X[:, 0]
    path = tmp_path / f"{kind}.flm"
    flmcli.dump(_estimator(kind).fit(X, y), path)
    with TestClient(create_app(Predictor.from_path(path, trust_all=True))) as client:
        meta = client.get("/v2/models/model").json()
        [advertised] = [output for output in meta["outputs"] if output["name"] == "predict"]
        assert advertised["shape"] == ([-1] if targets == 1 else [-1, targets])
        body = {"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [2, 3], "data": [0.1, 0.2, 0.3, -1, 0, 1]}],
                "outputs": [{"name": "predict"}]}
        response = client.post("/v2/models/model/infer", json=body)
        assert response.status_code == 200, response.text
        [output] = response.json()["outputs"]
        assert output["shape"] == [2, *advertised["shape"][1:]]
        assert len(output["data"]) == 2 * targets
