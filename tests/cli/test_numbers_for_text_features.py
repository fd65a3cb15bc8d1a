"""A number or a boolean for a feature the model was trained on as text (churn's Geography and Gender: a
OneHotEncoder fitted on strings, handle_unknown='ignore') was scored silently as an unknown category. It is a
bad row naming row and column, in every input format, under every --on-error; text that is no category ("Mars",
"5") and missing values are still the model's to judge."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import ipc

from flmcli.predictor import Predictor
from flmcli.text_features import trained_as_text
from tests.helpers import CHURN, invoke

ROW: dict[str, Any] = {"RowNumber": 1, "CustomerId": 2, "Surname": "W", "CreditScore": 792, "Geography": "France",
                       "Gender": "Female", "Age": 28, "Tenure": 4, "Balance": 130142.79, "NumOfProducts": 1,
                       "HasCrCard": 1, "IsActiveMember": 0, "EstimatedSalary": 38190.78}
CATEGORIES = "expected text (the model was trained on categories: 'France', 'Germany', 'Spain')"


def _rows(value: Any, field: str = "Geography") -> list[dict[str, Any]]:
    return [dict(ROW), {**ROW, field: value}, dict(ROW)]


def _write(path: Path, fmt: str, rows: list[dict[str, Any]]) -> Path:
    if fmt == "ndjson":
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    elif fmt == "json":
        path.write_bytes(orjson.dumps(rows))
    elif fmt == "json-arrays":
        path.write_bytes(orjson.dumps([list(r.values()) for r in rows]))
    elif fmt == "csv":
        path.write_text(",".join(ROW) + "\n" + "".join(",".join(map(str, r.values())) + "\n" for r in rows))
    else:
        table = pa.Table.from_pylist(rows)
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            with ipc.new_stream(path, table.schema) as writer:
                writer.write_table(table)
    return path


SUFFIX = {"ndjson": ".ndjson", "json": ".json", "json-arrays": ".json", "parquet": ".parquet", "arrow": ".arrows"}


@pytest.mark.parametrize("fmt", list(SUFFIX))
@pytest.mark.parametrize(("value", "got"), [(5, "the number 5"), (5.5, "the number 5.5"),
                                            (True, "the boolean true")], ids=["int", "float", "bool"])
def test_a_number_for_a_text_feature_is_a_bad_row(tmp_path: Path, fmt: str, value: Any, got: str) -> None:
    if fmt in ("parquet", "arrow"):
        rows = [{**ROW, "Geography": value}] * 3  # a column holds one type
        line = 1
    else:
        rows, line = _rows(value), 2
    path = _write(tmp_path / f"rows{SUFFIX[fmt]}", fmt, rows)
    ran = invoke("predict", CHURN, path, "--to", "ndjson")
    assert ran.returncode == 1
    assert ran.stderr.decode() == f"Error: {path}:{line}: field 'Geography': {CATEGORIES}, got {got}\n"
    assert ran.stdout.count(b"\n") == line - 1  # the rows before it are scored and written


def test_a_csv_column_of_numbers_for_a_text_feature(tmp_path: Path) -> None:
    path = _write(tmp_path / "rows.csv", "csv", [{**ROW, "Gender": 1}, {**ROW, "Gender": 0}])
    ran = invoke("predict", CHURN, path)
    assert ran.returncode == 1
    assert ran.stderr.decode() == (f"Error: {path}:2: field 'Gender': expected text (the model was trained on "
                                   "categories: 'Female', 'Male'), got the number 1\n")


def test_every_bad_row_under_skip_and_null(tmp_path: Path) -> None:
    rows = [dict(ROW), {**ROW, "Geography": 3}, dict(ROW), {**ROW, "Gender": False}, dict(ROW)]
    path = _write(tmp_path / "rows.ndjson", "ndjson", rows)
    skipped = invoke("predict", CHURN, path, "--on-error", "skip")
    assert skipped.returncode == 5
    assert skipped.stdout == b'{"prediction":0}\n' * 3
    reports = [orjson.loads(line) for line in skipped.stderr.splitlines() if line.startswith(b"{")]
    assert [(r["line"], r["error"].split(": ")[1]) for r in reports] == [(2, "field 'Geography'"),
                                                                        (4, "field 'Gender'")]
    nulled = invoke("predict", CHURN, path, "--on-error", "null")
    assert nulled.returncode == 0
    out = [orjson.loads(line) for line in nulled.stdout.splitlines()]
    assert [o["prediction"] for o in out] == [0, None, 0, None, 0]
    assert out[3]["error"].endswith("got the boolean false")


@pytest.mark.parametrize("value", ["Mars", "5", None], ids=["unknown-text", "digits-as-text", "null"])
def test_text_and_missing_values_are_still_the_models_to_judge(tmp_path: Path, value: Any) -> None:
    path = _write(tmp_path / "rows.ndjson", "ndjson", _rows(value))
    ran = invoke("predict", CHURN, path, "--method", "predict_proba")
    assert ran.returncode == 0, ran.stderr
    assert len(ran.stdout.splitlines()) == 3


def test_the_features_trained_as_text_are_found_from_the_encoder() -> None:
    predictor = Predictor.from_path(CHURN)
    text = trained_as_text(predictor.estimator, predictor.spec.names, predictor.spec.expected)
    names = predictor.spec.names
    assert names is not None
    assert [(names[position], categories) for position, categories in text] == [
        ("Geography", ("France", "Germany", "Spain")), ("Gender", ("Female", "Male"))]


def test_a_model_trained_on_numbers_takes_numbers() -> None:
    """The iris model's features are numbers: nothing is checked, nothing refused."""
    from tests.helpers import CORPUS

    iris = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
    ran = invoke("predict", iris, input=io.BytesIO(b"[[5.1, 3.5, 1.4, 0.2], [6, 3, 5, 2]]").getvalue())
    assert ran.returncode == 0, ran.stderr
