"""A model slow enough that a worker can be killed in the middle of a job (trusted by name in the test)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


class Slow:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.n_features_in_ = 1

    def predict(self, X: Any) -> Any:
        time.sleep(self.delay)
        return np.asarray(X, dtype=float)[:, 0] * 2
