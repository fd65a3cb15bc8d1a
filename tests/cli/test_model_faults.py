"""A TypeError from the estimator is the row's fault only when the row is: a broken model is exit 3, not bad rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import flmcli
from flmcli.batch import Batch
from flmcli.errors import InputError, ModelFileError
from flmcli.predictor import Predictor
from tests.helpers import ROOT

IRIS = ROOT / "tests" / "data" / "flm-corpus" / "flama-2.2.2_iris-logreg_zstd_p2.flm"
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]


class Broken:
    """An estimator whose own code fails, as one pickled by another release can: `predict` calls a None."""

    n_features_in_ = 4

    def predict(self, X: Any) -> Any:
        hook = None
        return hook(X)  # type: ignore[misc]


class BreaksLater:
    """Scores the first batch, then fails on anything with a TypeError that names no value."""

    n_features_in_ = 4

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, X: Any) -> Any:
        self.calls += 1
        if self.calls > 1:
            raise TypeError("unsupported operand type(s) for +: 'Booster' and 'int'")
        return np.zeros(len(X))


def predictor(estimator: object, on_error: str = "fail") -> Predictor:
    model = flmcli.load(IRIS)
    model._estimator = estimator
    return Predictor(model, on_error=on_error)  # type: ignore[arg-type]


@pytest.mark.parametrize("on_error", ["fail", "skip", "null"])
def test_a_model_whose_code_fails_is_not_a_bad_row(on_error: str) -> None:
    with pytest.raises(ModelFileError, match="the model cannot run: TypeError: 'NoneType' object is not callable"):
        list(predictor(Broken(), on_error).predict([Batch(source="s", records=list(ROWS))]))


@pytest.mark.parametrize("on_error", ["fail", "null"])
def test_a_model_that_stops_working_is_caught_by_a_row_that_scored_before(on_error: str) -> None:
    scoring = predictor(BreaksLater(), on_error)
    first = scoring.score(Batch(source="s", records=list(ROWS)))
    assert first.outputs["prediction"].tolist() == [0, 0, 0]
    with pytest.raises(ModelFileError, match="Booster"):
        scoring.score(Batch(source="s", records=list(ROWS)))


class Picky:
    """Fails, as scikit-learn's encoders and comparisons do, on a string among numbers: the row's fault."""

    n_features_in_ = 4

    def predict(self, X: Any) -> Any:
        if any(isinstance(value, str) for value in np.asarray(X, dtype=object).ravel()):
            raise TypeError("'<' not supported between instances of 'str' and 'float'")
        return np.zeros(len(X))


@pytest.mark.parametrize("first", [0, 2])
def test_a_value_of_the_wrong_type_is_still_the_rows_fault(first: int) -> None:
    rows = [list(row) for row in ROWS]
    rows[first][1] = "wide"
    with pytest.raises(InputError) as info:
        list(predictor(Picky()).predict([Batch(source="s", records=rows)]))
    assert info.value.line == first + 1
    scored = predictor(Picky(), "null").score(Batch(source="s", records=rows))
    assert [error is not None for error in scored.errors or []] == [i == first for i in range(3)]
