"""An estimator that unpickles but cannot run: the predictor names the scikit-learn version skew, or stays out of it."""

from __future__ import annotations

from typing import Any

import pytest

import flmcli
from flmcli.batch import Batch
from flmcli.errors import ModelFileError
from flmcli.flm.model import installed_version
from flmcli.predictor import Predictor
from tests.helpers import CORPUS

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"


class MissingAttribute:
    """What an estimator pickled by another scikit-learn does: it loads, then its predict reads an attribute the
    pickle does not carry (the 2023 demo file's SimpleImputer._fill_dtype)."""

    n_features_in_ = 4

    def predict(self, X: Any) -> Any:
        raise AttributeError("'SimpleImputer' object has no attribute '_fill_dtype'")


def predictor_for(written_with: str) -> Predictor:
    model = flmcli.load(IRIS)
    model.meta["framework"]["version"] = written_with
    model._estimator = MissingAttribute()  # as if unpickled: the loader's own probe is not what is tested here
    return Predictor(model)


def test_an_attribute_error_under_version_skew_names_both_versions() -> None:
    installed = installed_version("sklearn")
    with pytest.raises(ModelFileError) as info:
        predictor_for("0.20.0").score(Batch(source="s", records=[[5.1, 3.5, 1.4, 0.2]]))
    message = str(info.value)
    assert str(IRIS) in message
    assert f"pickled by sklearn 0.20.0 and cannot run under the installed {installed}" in message
    assert "_fill_dtype" in message


def test_an_attribute_error_without_skew_is_not_blamed_on_versions() -> None:
    installed = installed_version("sklearn")
    assert installed is not None
    with pytest.raises(AttributeError, match="_fill_dtype"):
        predictor_for(installed).score(Batch(source="s", records=[[5.1, 3.5, 1.4, 0.2]]))
