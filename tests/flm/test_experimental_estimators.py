"""scikit-learn's experimental estimators (IterativeImputer, HalvingGridSearchCV, HalvingRandomSearchCV) load
without --trust: the sweep that generates the allow-list now enables them, which added exactly their classes
(and IterativeImputer's namedtuple) to it. Before, a model using one was exit 3, "untrusted names". Exact
entries still: another name in those modules is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

import flmcli
from flmcli.flm.trust import audit
from tests.helpers import invoke

X = np.array([[1, 2, np.nan], [3, np.nan, 1], [5, 6, 2], [7, 8, 3], [2, 1, 0], [4, 4, 4]] * 5, dtype=float)
Y = np.array([0, 1, 0, 1, 0, 1] * 5)
ROWS = [[1.0, 2.0, 0.5], [3.0, 1.0, 1.0], [7.0, 8.0, 3.0]]


def _model(name: str) -> object:
    from sklearn.experimental import enable_halving_search_cv, enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV
    from sklearn.pipeline import make_pipeline

    filled = np.nan_to_num(X)
    if name == "iterative":
        return make_pipeline(IterativeImputer(random_state=0), LogisticRegression()).fit(X, Y)
    if name == "halving-grid":
        return HalvingGridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3, min_resources=12,
                                   random_state=0).fit(filled, Y)
    return HalvingRandomSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3, n_candidates=2, min_resources=12,
                                 random_state=0).fit(filled, Y)


@pytest.mark.parametrize("name", ["iterative", "halving-grid", "halving-random"])
def test_a_model_using_one_scores_without_trust(tmp_path: Path, name: str) -> None:
    model = _model(name)
    path = tmp_path / f"{name}.flm"
    flmcli.dump(model, path)
    ran = invoke("predict", path, input=orjson.dumps(ROWS))
    assert ran.returncode == 0, ran.stderr
    assert orjson.loads(ran.stdout) == model.predict(np.array(ROWS)).tolist()  # type: ignore[attr-defined]


def test_the_entries_are_exact() -> None:
    """A function that the experimental module merely imports is not on the list by being next to a class."""
    data = b"\x80\x04csklearn.impute._iterative\n_safe_indexing\n."
    verdicts = {f"{item.module}.{item.name}": item.trusted for item in audit(data)}
    assert verdicts == {"sklearn.impute._iterative._safe_indexing": False}
    listed = b"\x80\x04csklearn.impute._iterative\nIterativeImputer\n."
    assert [item.trusted for item in audit(listed)] == [True]
