"""The predictor core: rows to features, methods, output columns, bad rows under each --on-error mode."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.exceptions import ConvergenceWarning

from flmcli.batch import Batch
from flmcli.errors import InputError, ModelMethodError
from flmcli.predictor import Predictor
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def churn() -> tuple[object, pd.DataFrame]:
    import sys

    sys.path.insert(0, str(ROOT / "samples"))
    import train_churn

    data = pd.read_parquet(ROOT / "data" / "data.parquet")
    X, y = data.drop(columns=["Exited"]), data["Exited"]
    # 50 iterations keep the fixture quick; the tests need a fitted model, not a converged one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = train_churn.build().set_params(mlp_classifier__max_iter=50).fit(X.iloc[:2000], y.iloc[:2000])
    return model, X.iloc[2000:2100].reset_index(drop=True)


def predictor(model: object, **options: object) -> Predictor:
    return Predictor(types.SimpleNamespace(estimator=model), **options)  # type: ignore[arg-type]


def test_positional_and_named_rows_match_the_estimator(churn) -> None:
    model, X = churn
    expected = model.predict(X).tolist()
    by_position = predictor(model).score(Batch(source="t", records=X.values.tolist()))
    by_name = predictor(model).score(Batch(source="t", records=X.to_dict("records")))
    by_table = predictor(model).score(Batch(source="t", table=pa.Table.from_pandas(X)))
    assert by_position.outputs["prediction"].tolist() == expected
    assert by_name.outputs["prediction"].tolist() == expected
    assert by_table.outputs["prediction"].tolist() == expected
    assert by_position.flat


def test_named_rows_ignore_extra_fields_and_any_order(churn) -> None:
    model, X = churn
    records = [{"extra": 1, **dict(reversed(list(r.items())))} for r in X.to_dict("records")]
    scored = predictor(model).score(Batch(source="t", records=records))
    assert scored.outputs["prediction"].tolist() == model.predict(X).tolist()


def test_chained_record_shape_is_read_as_a_positional_row(churn) -> None:
    model, X = churn
    records = [{"input": row, "prediction": 1} for row in X.values.tolist()]
    scored = predictor(model).score(Batch(source="t", records=records))
    assert scored.outputs["prediction"].tolist() == model.predict(X).tolist()


def test_predict_proba_columns_are_named_after_classes(churn) -> None:
    model, X = churn
    scored = predictor(model, method="predict_proba").score(Batch(source="t", records=X.values.tolist()))
    assert list(scored.outputs.columns) == ["0", "1"]
    assert not scored.flat
    np.testing.assert_array_equal(scored.outputs.to_numpy(), model.predict_proba(X))


def test_output_name(churn) -> None:
    model, X = churn
    scored = predictor(model, output_name="churn").score(Batch(source="t", records=X.values.tolist()[:3]))
    assert list(scored.outputs.columns) == ["churn"]


def test_missing_method_is_refused_with_what_the_model_has(churn) -> None:
    model, _ = churn
    with pytest.raises(ModelMethodError, match="Pipeline has no transform; it has predict, predict_proba"):
        predictor(model, method="transform")


def bad_rows(X: pd.DataFrame) -> list[object]:
    records: list[object] = X.iloc[:6].to_dict("records")
    records[2] = {**records[2], "Age": "abc"}  # type: ignore[dict-item]
    records[4] = {k: v for k, v in records[4].items() if k != "Tenure"}  # type: ignore[union-attr]
    return records


def test_fail_mode_scores_rows_before_the_first_bad_row_then_names_it(churn) -> None:
    model, X = churn
    batch = Batch(source="rows.ndjson", records=bad_rows(X), lines=[10, 11, 12, 13, 14, 15])
    stream = predictor(model).predict([batch])
    first = next(stream)
    assert first.outputs["prediction"].tolist() == model.predict(X.iloc[:2]).tolist()
    with pytest.raises(InputError) as error:
        next(stream)
    assert str(error.value).startswith("rows.ndjson:12: field 'Age': the model cannot use the value 'abc'")


def test_null_mode_keeps_alignment_and_reports_each_row(churn) -> None:
    model, X = churn
    scored = predictor(model, on_error="null").score(Batch(source="s", records=bad_rows(X)))
    assert len(scored.outputs) == 6
    assert scored.keep is None
    assert [e is None for e in scored.errors] == [True, True, False, True, False, True]
    assert scored.errors[4] == "s:5: field 'Tenure': missing field"
    good = [0, 1, 3, 5]
    assert scored.outputs["prediction"].iloc[good].tolist() == model.predict(X.iloc[good]).tolist()


def test_skip_mode_marks_rows_not_to_write(churn) -> None:
    model, X = churn
    scored = predictor(model, on_error="skip").score(Batch(source="s", records=bad_rows(X)))
    assert scored.keep == [True, True, False, True, False, True]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ([1, 2, 3], "s:1: expected 13 values, got 3"),
        (5, "s:1: a row must be a JSON array or object, got a number"),
        ([[1]] * 13, "s:1: field 'RowNumber': expected a scalar, got list"),
    ],
)
def test_structural_errors_name_the_row(churn, row: object, message: str) -> None:
    model, _ = churn
    with pytest.raises(InputError) as error:
        list(predictor(model).predict([Batch(source="s", records=[row])]))
    assert str(error.value) == message


def test_nested_value_in_a_named_record_names_its_field(churn) -> None:
    model, X = churn
    records = X.iloc[:3].to_dict("records")
    records[1]["CreditScore"] = [600]
    with pytest.raises(InputError) as error:
        list(predictor(model).predict([Batch(source="s", records=records)]))
    assert str(error.value) == "s:2: field 'CreditScore': expected a scalar, got list"
