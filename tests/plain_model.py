"""A model without scikit-learn, for the `flm` process tests whose point is the process: its pipes, closed or full
standard streams, signals and exit statuses, not what the model computes.

A `flm predict` process that loads a scikit-learn model spends ~1.3 CPU-s importing scikit-learn and SciPy before
it reads a row, and the suite starts dozens of them; this model needs only numpy, which flm imports anyway, so
such a process costs about a third. It is a real FLM file (flmcli.dump), trusted by name on the command line as a
user trusts their own class (`--trust`); it takes the churn sample's 13 features, named, and predicts twice the
first (predict_proba: odd or even). The tests that compare real predictions keep the real models.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHURN_FEATURES = ["RowNumber", "CustomerId", "Surname", "CreditScore", "Geography", "Gender", "Age", "Tenure",
                  "Balance", "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary"]
TRUST = "tests.plain_model.FirstFeatureTwice"


NUMERIC = [0, 1, 3, 6, 7, 8, 9, 10, 11, 12]  # the churn features that are numbers (not Surname, Geography, Gender)


class FirstFeatureTwice:
    """Twice the first feature; like the churn model, it refuses a row whose numeric feature is not a number."""

    def __init__(self, names: list[str]) -> None:
        self.feature_names_in_ = list(names)
        self.n_features_in_ = len(names)

    def _numbers(self, X: Any) -> Any:
        import numpy as np

        table = X.to_numpy(dtype=object) if hasattr(X, "to_numpy") else np.asarray(X, dtype=object)
        return table[:, NUMERIC].astype(float)  # ValueError for "old", as the churn model raises

    def predict(self, X: Any) -> Any:
        return self._numbers(X)[:, 0] * 2

    def predict_proba(self, X: Any) -> Any:
        import numpy as np

        high = (self._numbers(X)[:, 0] % 2).astype(float)
        return np.column_stack([1 - high, high])


def plain_model(path: Path) -> Path:
    """The model written to `path`, for the churn sample's rows."""
    from flmcli import flm

    flm.dump(FirstFeatureTwice(CHURN_FEATURES), path)
    return path


def process_env(**extra: str) -> dict[str, str]:
    """The environment of an `flm` process that may import this module (`--trust` imports it by name)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}
