"""A model file whose pickle holds no estimator at all (a number, a dict) is a model file flm cannot run: exit 3
naming the file, as the README's exit statuses say, not exit 1 like a --method the estimator lacks."""

from __future__ import annotations

import pickle
from pathlib import Path

from tests.flm.test_pickle_bypasses import flm_file
from tests.helpers import CHURN, CHURN_DATA, invoke


def test_a_pickle_without_an_estimator_is_exit_3_naming_the_file(tmp_path: Path) -> None:
    model = flm_file(tmp_path / "number.flm", pickle.dumps({"not": "a model"}, protocol=4))
    ran = invoke("predict", model, CHURN_DATA / "input.json")
    assert ran.returncode == 3, ran.stderr
    err = ran.stderr.decode()
    assert "number.flm" in err and "dict" in err and "predict" in err


def test_a_method_the_estimator_lacks_is_still_exit_1() -> None:
    ran = invoke("predict", CHURN, CHURN_DATA / "input.json", "--method", "transform")
    assert ran.returncode == 1
    assert "has no transform" in ran.stderr.decode()
