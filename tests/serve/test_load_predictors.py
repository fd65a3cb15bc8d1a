"""`load_predictors` builds each served model's Predictor from PredictOptions, as `flm predict` does; a server
passes ServeConfig.predict_options()."""

from __future__ import annotations

import pytest

from flmcli.errors import ModelFileError
from flmcli.options import PredictOptions, ServeConfig
from flmcli.serve.runner import load_predictors
from tests.helpers import CHURN


def test_defaults_are_flm_predicts() -> None:
    (predictor,) = load_predictors({"churn": str(CHURN)}).values()
    default = PredictOptions()
    assert (predictor.method, predictor.on_error, predictor.output_name) == (
        default.method, default.on_error, default.output_name)


def test_the_options_given_build_the_predictor() -> None:
    options = PredictOptions(method="predict_proba", output_name="p")
    (predictor,) = load_predictors({"churn": str(CHURN)}, options).values()
    assert predictor.method == "predict_proba" and predictor.output_name == "p"


def test_a_server_passes_its_method_and_trust() -> None:
    config = ServeConfig(method="predict_proba", trust=("numpy.log1p",), trust_all=False)
    assert config.predict_options() == PredictOptions(method="predict_proba", trust=("numpy.log1p",))
    (predictor,) = load_predictors({"churn": str(CHURN)}, config.predict_options()).values()
    assert predictor.method == "predict_proba"


def test_a_method_the_model_lacks_is_the_models_fault() -> None:
    with pytest.raises(ModelFileError, match="has no transform"):
        load_predictors({"churn": str(CHURN)}, PredictOptions(method="transform"))
