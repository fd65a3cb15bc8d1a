"""For the parity matrices, which run `flm predict` thousands of times in process on two models: each model file
is loaded once, and each distinct model input is scored once.

The matrices compare what flm writes around the model (readers, typed columns, writers, --on-error) for the
same inputs; the same case through six writers hands the model the very same batches six times (6,238 model
calls, 440 distinct inputs, ~80 % of these modules' CPU). A deterministic estimator gives the same answer to the
same input, so an answer is kept under the model file's pickle and the exact pickled bytes of the input (values,
their Python types, dtypes, column names and order, index): a different input never meets a kept answer. A call
that raised raises the same exception again. What a run does around `Predictor.call` is unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import pickle
from collections.abc import Iterator
from typing import Any

import flmcli.flm
from flmcli.predictor import Predictor


@contextlib.contextmanager
def each_model_loaded_once() -> Iterator[None]:
    """Each model file read and audited once: the runs differ only in what flm does with the rows."""
    original = flmcli.flm.load
    cached = functools.cache(lambda path, trust, trust_all: original(path, trust=trust, trust_all=trust_all))

    def load(path: Any, *, trust: Any = (), trust_all: bool = False) -> Any:
        return cached(str(path), tuple(trust), trust_all)

    flmcli.flm.load = load  # type: ignore[assignment]
    try:
        yield
    finally:
        flmcli.flm.load = original  # type: ignore[assignment]


@contextlib.contextmanager
def each_input_scored_once() -> Iterator[dict[str, int]]:
    """Patch `Predictor.call` (flm's only call into a model) to answer an input it has seen from what it kept;
    yields counts of real calls and answers kept, for the check that the inputs are what they claim."""
    original = Predictor.call
    kept: dict[tuple[bytes, str, bytes], tuple[bool, Any]] = {}
    counts = {"calls": 0, "kept": 0}

    def call(self: Predictor, X: Any, method: str | None = None) -> Any:
        import numpy as np

        try:
            data = pickle.dumps(X, protocol=5)
        except Exception:  # noqa: BLE001 - nothing to key it by: a real call
            return original(self, X, method)
        key = (hashlib.sha256(self.model.payload).digest(), method or self.method, hashlib.sha256(data).digest())
        if key in kept:
            counts["kept"] += 1
            failed, value = kept[key]
            if failed:
                raise value
            return np.array(value, copy=True)  # a caller may write into what it gets
        counts["calls"] += 1
        try:
            y = original(self, X, method)
        except Exception as error:
            kept[key] = (True, error)
            raise
        kept[key] = (False, np.array(y, copy=True))
        return y

    Predictor.call = call  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        Predictor.call = original  # type: ignore[method-assign]
