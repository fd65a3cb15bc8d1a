"""Features the model never reads (a ColumnTransformer's dropped columns) are given to it as the table has them,
not made Python strings: the outputs are the same bytes, and only a plain, fitted selection counts as dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from flmcli import features
from flmcli.batch import Batch
from flmcli.predictor import Predictor
from flmcli.unread_features import unread
from tests.helpers import CHURN, DATA, invoke

FRAME = pd.DataFrame({
    "id": [1, 2, 3, 4, 5, 6],
    "name": ["ann", "bob", "cy", "di", "ed", "flo"],
    "city": ["x", "y", "x", "y", "x", "y"],
    "n": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
})
Y = [0, 1, 0, 1, 0, 1]
NAMES = tuple(FRAME.columns)


def fitted(columns: list[tuple[str, Any, Any]], remainder: Any = "drop") -> Pipeline:
    pipeline = Pipeline([("prep", ColumnTransformer(columns, remainder=remainder)), ("model", LogisticRegression())])
    return pipeline.fit(FRAME, Y)


ENCODED = [("text", OneHotEncoder(handle_unknown="ignore"), ["city"]), ("num", StandardScaler(), ["n"])]


def test_churn_drops_three_columns() -> None:
    predictor = Predictor.from_path(CHURN)
    names = predictor.spec.names
    assert names is not None
    assert {names[i] for i in predictor.spec.unread} == {"RowNumber", "CustomerId", "Surname"}


@pytest.mark.parametrize(("columns", "remainder", "expected"), [
    (ENCODED, "drop", {0, 1}),
    (ENCODED + [("gone", "drop", ["name"])], "passthrough", {1}),  # id is passed through: read
    (ENCODED + [("gone", "drop", ["name"])], StandardScaler(), {1}),  # id goes to the remainder's scaler
    (ENCODED, OneHotEncoder(handle_unknown="ignore"), set()),  # the remainder is read
    ([("text", OneHotEncoder(), [2]), ("num", StandardScaler(), [3])], "drop", {0, 1}),  # by position
    ([("text", OneHotEncoder(), [False, False, True, False]), ("num", StandardScaler(), ["n"])], "drop", {0, 1}),
    ([("text", OneHotEncoder(), make_column_selector(pattern="^city$")), ("num", StandardScaler(), ["n"])], "drop",
     {0, 1}),  # a callable selection, resolved when fitted
    ([("text", OneHotEncoder(), slice(2, 3)), ("num", StandardScaler(), ["n"])], "drop", set()),  # not resolved here
    ([("text", OneHotEncoder(), ["city"]), ("num", StandardScaler(), ["n"]), ("none", StandardScaler(), [])], "drop",
     {0, 1}),  # a transformer of no column reads none
    ([("all", "passthrough", ["id", "n"]), ("text", OneHotEncoder(), ["city"])], "drop", {1}),
])
def test_what_a_column_transformer_drops(columns: list[tuple[str, Any, Any]], remainder: Any,
                                         expected: set[int]) -> None:
    assert unread(fitted(columns, remainder), NAMES, len(NAMES)) == expected


def test_nothing_unread_without_a_fitted_column_transformer() -> None:
    model = LogisticRegression().fit(FRAME[["n"]], Y)
    assert unread(model, ("n",), 1) == frozenset()
    unfitted = Pipeline([("prep", ColumnTransformer(ENCODED)), ("model", LogisticRegression())])
    assert unread(unfitted, NAMES, len(NAMES)) == frozenset()
    assert unread(fitted(ENCODED), NAMES, None) == frozenset()
    # names the transformer does not know (--features renaming the columns): nothing is taken for unread
    assert unread(fitted(ENCODED), ("a", "b", "c", "d"), 4) == frozenset()


def test_unread_strings_are_left_as_pandas_makes_them() -> None:
    model = fitted(ENCODED)
    spec = features.FeatureSpec(names=NAMES, width=4, by_name=True, unread=unread(model, NAMES, 4))
    table = pa.Table.from_pandas(FRAME, preserve_index=False)
    for X in (features.from_table(Batch(source="t", table=table), spec),
              features.text_table_input(Batch(source="t", table=table), spec)):
        assert list(X.columns) == list(NAMES)
        assert X["city"].dtype == object and X["name"].dtype != object
        assert X["name"].tolist() == FRAME["name"].tolist()  # the values are there, as read
        assert features.string_columns(X) == {2}
        assert np.array_equal(model.predict(X), model.predict(FRAME))


@pytest.mark.parametrize("fmt", ["csv", "parquet", "ndjson"])
def test_same_bytes_as_every_column_made_strings(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The churn sample through `flm predict` in each columnar path, with and without the dropped columns left as
    they are, both outputs and probabilities: the same bytes."""
    table = pq.read_table(DATA)
    source = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        pacsv.write_csv(table, source)
    elif fmt == "parquet":
        pq.write_table(table, source)
    else:
        import orjson

        source.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in table.to_pylist()))
    runs = []
    for keep_all in (False, True):
        if keep_all:
            monkeypatch.setattr("flmcli.unread_features.unread", lambda *_: frozenset())
        for method in ("predict", "predict_proba"):
            ran = invoke("predict", CHURN, source, "--method", method, "--to", "csv")
            assert ran.returncode == 0, ran.stderr
            runs.append(ran.stdout)
    assert runs[0] == runs[2] and runs[1] == runs[3]
    assert runs[0].count(b"\n") == table.num_rows + 1
