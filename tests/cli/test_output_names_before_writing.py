"""An --output-name list that does not fit the model's outputs is a usage error (exit 2) found when the model is
loaded, before anything is written: it was found at the first batch, after a JSON array output had written `[]` to
stdout (and a CSV output its nothing), so a pipe's reader saw an empty result before the error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

import flmcli
from tests.helpers import CHURN, CHURN_DATA, invoke

ROWS = CHURN_DATA / "input.json"


@pytest.mark.parametrize("to", ["json", "ndjson", "csv"])
@pytest.mark.parametrize("method, names, reason", [
    ("predict", "a,b", "--output-name gives 2 names for the 1 output of predict"),
    ("predict_proba", "a,b,c", "--output-name gives 3 names for the 2 outputs of predict_proba"),
    ("predict_proba", "x,x", "--output-name names the output 'x' twice"),
])
def test_nothing_is_written_before_the_usage_error(to: str, method: str, names: str, reason: str) -> None:
    ran = invoke("predict", CHURN, ROWS, "--method", method, "--output-name", names, "--to", to)
    assert ran.returncode == 2, ran.stderr
    assert ran.stdout == b""
    assert ran.stderr.decode().splitlines() == [f"Error: {reason}"]


def test_names_that_fit_are_used() -> None:
    ran = invoke("predict", CHURN, ROWS, "--method", "predict_proba", "--output-name", "stays,leaves", "--to", "csv")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.decode().splitlines()[0] == "stays,leaves"


def test_a_regressor_of_three_targets(tmp_path: Path) -> None:
    from sklearn.neighbors import KNeighborsRegressor

    X = np.random.default_rng(0).normal(size=(30, 2))
    path = tmp_path / "knn.flm"
    flmcli.dump(KNeighborsRegressor(2).fit(X, np.c_[X, X[:, 0]]), path)
    rows = orjson.dumps([[0.1, 0.2], [0.3, 0.4]])
    good = invoke("predict", path, "--output-name", "x,y,z", "--to", "ndjson", input=rows)
    assert good.returncode == 0, good.stderr
    assert list(orjson.loads(good.stdout.splitlines()[0])) == ["x", "y", "z"]
    bad = invoke("predict", path, "--output-name", "x,y", "--to", "json", input=rows)
    assert (bad.returncode, bad.stdout) == (2, b""), bad.stderr
    assert "2 names for the 3 outputs of predict" in bad.stderr.decode()
