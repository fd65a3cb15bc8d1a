"""Every scikit-learn estimator, built and fitted on tiny data: the models the pickle allow-list must load.

Shared by tools/gen_allowlist.py (which records the globals their pickles use) and by the test that loads
each of them through the restricted unpickler without --trust.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator
from typing import Any


def _instances(estimator_class: type) -> list[Any]:
    from sklearn.utils._test_common.instance_generator import _construct_instances

    try:
        return list(_construct_instances(estimator_class))
    except Exception:  # noqa: BLE001 - e.g. SkipTest for FrozenEstimator, which needs a fitted estimator
        return []


def _fit(estimator: Any) -> Any | None:
    """Fit `estimator` on whichever tiny input it accepts; None when none fits."""
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(0)
    X = rng.uniform(0.1, 1.0, size=(40, 4))
    y_class = np.array([0, 1] * 20)
    y_reg = X @ np.array([1.0, 2.0, -1.0, 0.5])
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    texts = ["the cat sat", "a dog ran", "the dog sat", "a cat ran"] * 10
    attempts: list[tuple[Any, ...]] = [
        (X, y_class), (frame, y_class), (X, y_reg), (X,), (X, np.c_[y_reg, y_reg]), (texts,), (texts, y_class),
        ([{"a": 1.0, "b": "x"}, {"a": 2.0, "b": "y"}] * 20,), (y_class,), (X[:, 0], y_reg), ([["a", "b"], ["b"]] * 20,),
    ]
    for args in attempts:
        np.random.seed(0)  # estimators left at random_state=None fit the same way on every run
        try:
            return estimator.fit(*args)
        except Exception:  # noqa: BLE001 - this input is not the estimator's kind
            continue
    return None


@functools.cache
def _estimator_classes() -> list[tuple[str, type]]:
    """What `all_estimators` lists, taken once per process, with scikit-learn's experimental estimators
    (IterativeImputer, the Halving searches) enabled first: real models use them, and importing the instance
    generator (in `_instances`) would otherwise enable them part-way through a sweep taken in parts."""
    import sklearn.experimental.enable_halving_search_cv  # noqa: F401
    import sklearn.experimental.enable_iterative_imputer  # noqa: F401
    from sklearn.utils import all_estimators

    return list(all_estimators())


def fitted_estimators(part: int = 0, parts: int = 1) -> Iterator[tuple[str, Any]]:
    """(name, fitted estimator) for every estimator `all_estimators` lists that fits on tiny data; with `parts`,
    only the classes whose place in that list is `part` modulo `parts` (so that a test can be spread)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, estimator_class in _estimator_classes()[part::parts]:
            for index, instance in enumerate(_instances(estimator_class)):
                fitted = _fit(instance)
                if fitted is not None:
                    yield f"{name}[{index}]", fitted


def extra_objects() -> Iterator[tuple[str, Any]]:
    """What real models hold besides estimators: pandas and scipy.sparse values, random states, numpy scalars."""
    import numpy as np
    import pandas as pd
    from scipy import sparse
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": pd.Categorical(["a", "b", "a"]), "s": ["u", "v", "w"],
                          "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                          "i": pd.array([1, None, 3], dtype="Int64")})
    yield "pandas.DataFrame", frame
    yield "pandas.DataFrame(RangeIndex)", pd.DataFrame({"x": [1.0, 2.0]})
    yield "pandas.Series", pd.Series([1.0, 2.0], index=pd.Index(["a", "b"]), name="s")
    yield "pandas.Categorical", pd.Categorical(["a", "b"])
    yield "pandas.Timestamp", pd.Timestamp("2024-01-01T00:00:00")
    yield "pandas.Timedelta", pd.Timedelta(seconds=5)
    matrix = sparse.random(5, 4, density=0.5, random_state=0)
    for fmt in ("csr", "csc", "coo"):
        yield f"scipy.sparse.{fmt}_matrix", matrix.asformat(fmt)
        yield f"scipy.sparse.{fmt}_array", sparse.csr_array(matrix).asformat(fmt)
    yield "numpy.random.RandomState", np.random.RandomState(0)
    yield "numpy.random.Generator", np.random.default_rng(0)
    yield "numpy scalars", [np.float64(1.5), np.int64(2), np.float32(1.0), np.bool_(True), np.str_("a")]
    yield "numpy arrays", [np.zeros(3, dtype=dt) for dt in ("f8", "f4", "i8", "i4", "u1", "bool", "O", "U3", "M8[ns]")]
    transformer = ColumnTransformer([("num", StandardScaler(), ["x"]), ("cat", OneHotEncoder(), ["s"])])
    yield "ColumnTransformer(DataFrame)", transformer.fit(frame)
    yield "FunctionTransformer(numpy.log1p)", make_pipeline(FunctionTransformer(np.log1p)).fit([[1.0], [2.0]])
