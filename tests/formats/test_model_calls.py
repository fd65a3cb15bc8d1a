"""The parity matrices' kept model answers (tests/formats/model_calls.py) stand only for the very same input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flmcli.flm
from flmcli.predictor import Predictor
from tests.formats.model_calls import each_input_scored_once
from tests.helpers import CHURN, DATA


def test_an_answer_is_kept_only_for_the_same_input() -> None:
    predictor = Predictor(flmcli.flm.load(CHURN), method="predict_proba")
    frame = pd.read_parquet(DATA).drop(columns=["Exited"]).head(5).astype({"HasCrCard": object})
    as_bool = frame.assign(HasCrCard=[bool(v) for v in frame["HasCrCard"]])  # equal to 1/0 in Python, not the same
    as_float = frame.assign(HasCrCard=[float(v) for v in frame["HasCrCard"]])
    reordered = frame.iloc[::-1]
    refused = frame.assign(CreditScore=["high"] * 5)
    with each_input_scored_once() as counts:
        first = predictor.call(frame)
        first[0, 0] = 7.0  # what a caller does to its answer does not reach the kept one
        again = predictor.call(frame)
        for other in (as_bool, as_float, reordered):
            np.testing.assert_array_equal(predictor.call(other), predictor.estimator.predict_proba(other))
        with pytest.raises(ValueError) as raised:
            predictor.call(refused)
        with pytest.raises(ValueError) as raised_again:
            predictor.call(refused)
    np.testing.assert_array_equal(again, predictor.estimator.predict_proba(frame))
    assert str(raised_again.value) == str(raised.value)
    assert counts == {"calls": 5, "kept": 2}
    assert Predictor.call is not None and "each_input" not in Predictor.call.__qualname__  # put back afterwards
