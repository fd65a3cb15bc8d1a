"""The model's text check (a number where the model was trained on text) skips the columns of a frame that
features made from Arrow string columns without nulls (features.string_columns): they hold Python strings only.
Only that frame itself is known so: a part, a copy or another frame is checked as before."""

from __future__ import annotations

import gc

import pandas as pd
import pyarrow as pa

from flmcli import features, text_features
from flmcli.batch import Batch
from flmcli.features import FeatureSpec, from_table, string_columns, text_table_input

SPEC = FeatureSpec(names=("name", "n", "city"), width=3, by_name=True)
TEXT = ((0, ("a", "b")), (2, ("x", "y")))


def test_string_columns_of_a_table_frame() -> None:
    table = pa.table({"name": ["a", "b", "a"], "n": [1, 2, 3], "city": ["x", None, "y"]})
    frame = from_table(Batch(source="t", table=table), SPEC)
    assert string_columns(frame) == {0}  # city has a null: pandas' own strings, NaN there
    assert string_columns(frame.iloc[[0, 1]]) == frozenset()
    assert string_columns(frame.copy()) == frozenset()
    assert string_columns(pd.DataFrame({"name": ["a"]})) == frozenset()
    assert text_features.first_not_text(frame, TEXT, string_columns(frame)) is None


def test_typed_columns_from_text() -> None:
    table = pa.table({"name": ["a", "b"], "n": [1, 2], "city": ["x", "y"]})
    frame = text_table_input(Batch(source="t", table=table), SPEC)
    assert string_columns(frame) == {0, 2}


def test_the_check_still_runs_on_what_is_not_known() -> None:
    """A column of numbers is never marked, so the check finds the number; a marked column is skipped."""
    table = pa.table({"name": ["a", "b"], "n": [1, 2], "city": pa.array([5, 6])})
    frame = from_table(Batch(source="t", table=table), SPEC)
    assert string_columns(frame) == {0}
    found = text_features.first_not_text(frame, TEXT, string_columns(frame))
    assert found is not None and found[:2] == (0, 2)


def test_forgotten_with_its_frame() -> None:
    table = pa.table({"name": ["a", "b"], "n": [1, 2], "city": ["x", "y"]})
    frame = from_table(Batch(source="t", table=table), SPEC)
    key = id(frame)
    assert key in features._STRINGS
    del frame
    gc.collect()
    assert key not in features._STRINGS
