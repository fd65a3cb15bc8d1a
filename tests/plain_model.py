"""A model without scikit-learn, for the `flm` process tests whose point is the process: its pipes, closed or full
standard streams, signals and exit statuses, not what the model computes.

A `flm predict` process that loads a scikit-learn model spends ~1.3 CPU-s importing scikit-learn and SciPy before
it reads a row, and the suite starts dozens of them; this model needs only numpy, which flm imports anyway, so
such a process costs about a third. It is a real FLM file (flmcli.dump), trusted by name on the command line as a
user trusts their own class (`--trust`); it takes the churn sample's 13 features, named, and predicts twice the
first. The tests that compare real predictions keep the real models.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHURN_FEATURES = ["RowNumber", "CustomerId", "Surname", "CreditScore", "Geography", "Gender", "Age", "Tenure",
                  "Balance", "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary"]
TRUST = "tests.plain_model.FirstFeatureTwice"


class FirstFeatureTwice:
    def __init__(self, names: list[str]) -> None:
        self.feature_names_in_ = list(names)
        self.n_features_in_ = len(names)

    def predict(self, X: Any) -> Any:
        import numpy as np

        first = X.iloc[:, 0] if hasattr(X, "iloc") else np.asarray(X, dtype=object)[:, 0]
        return np.asarray(first, dtype=float) * 2


def plain_model(path: Path) -> Path:
    """The model written to `path`, for the churn sample's rows."""
    from flmcli import flm

    flm.dump(FirstFeatureTwice(CHURN_FEATURES), path)
    return path


def process_env(**extra: str) -> dict[str, str]:
    """The environment of an `flm` process that may import this module (`--trust` imports it by name)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}
