"""The columnar paths write the same bytes, messages and exit status as the row-by-row path they replace.

Each case runs `flm predict` twice in process: as it is, and with the Arrow NDJSON reader swapped for the
row-by-row one and decoded rows given to the model as Python objects (what every JSON and NDJSON input went
through before). Inputs carry what the row-by-row reader handles: type drift
between and within batches, nulls, missing and nested fields, malformed and blank lines, scalar and array rows,
the `{"input": [...]}` envelope, values the model refuses; every output format; every --on-error.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import flmcli.features
import flmcli.flm
from flmcli.cli import cli
from flmcli.formats import json_array, ndjson, ndjson_arrow
from tests.formats.model_calls import each_input_scored_once, each_model_loaded_once
from tests.helpers import CHURN, CORPUS, DATA

OUTPUTS = ("ndjson", "json", "csv", "tsv", "parquet", "arrow")
IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
CHURN_POSITIONAL = CORPUS / "flama-2.2.2_churn_zstd_p2.flm"
IRIS_NAMES = "a,b,c,d"


@pytest.fixture(autouse=True, scope="module")
def _models_once() -> Iterator[dict[str, int]]:
    """Each model file is read and audited once for the module, each distinct model input scored once: the runs
    differ only in the reader (tests/formats/model_calls.py says why that proves the same)."""
    with each_model_loaded_once(), each_input_scored_once() as counts:
        yield counts


@functools.cache
def churn_rows() -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(DATA).drop_columns(["Exited"]).slice(0, 40).to_pylist()  # type: ignore[no-any-return]


def lines(rows: list[Any]) -> bytes:
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def churn_case(name: str) -> bytes:
    rows = [dict(row) for row in churn_rows()]
    if name == "clean":
        return lines(rows)
    if name == "drift":  # an int column that meets floats in a later batch, a float column that gets ints
        for row in rows[20:]:
            row["Age"] = row["Age"] + 0.5
        for row in rows[:10]:
            row["Balance"] = int(row["Balance"])
        return lines(rows)
    if name == "drift_in_batch":
        rows[3]["Age"] = 41.0
        rows[4]["Tenure"] = True
        return lines(rows)
    if name == "null":
        rows[25]["Age"] = None
        rows[26]["Geography"] = None
        return lines(rows)
    if name == "missing":
        del rows[12]["Age"]
        return lines(rows)
    if name == "nested":
        rows[7]["Age"] = [41]
        rows[30]["Geography"] = {"name": "France"}
        return lines(rows)
    if name == "nested_extra":  # a nested field the model does not use is no reason to leave the fast path
        for row in rows:
            row["meta"] = {"id": row["CustomerId"], "tags": ["a"]}
        return lines(rows)
    if name == "bad_json":
        text = lines(rows).split(b"\n")
        text[17] = text[17][:-5]
        return b"\n".join(text)
    if name == "blank":
        text = lines(rows).split(b"\n")
        text.insert(22, b"")
        text.insert(5, b"   ")
        return b"\n".join(text) + b"\n\n"
    if name == "scalar":
        text = lines(rows).split(b"\n")
        text[9] = b"42"
        text[33] = b"null"
        return b"\n".join(text)
    if name == "arrays":
        return lines([list(row.values()) for row in rows])
    if name == "mixed_shapes":
        return lines([list(row.values()) if i % 7 == 3 else row for i, row in enumerate(rows)])
    if name == "envelope":
        return lines([{"input": list(row.values())} if i % 5 == 0 else row for i, row in enumerate(rows)])
    if name == "refused":  # a string the model cannot turn into a number
        rows[21]["CreditScore"] = "high"
        return lines(rows)
    if name == "extra_and_order":
        return lines([{"zz": i, **dict(reversed(list(row.items())))} for i, row in enumerate(rows)])
    if name == "crlf_bom_no_final_newline":
        return b"\xef\xbb\xbf" + lines(rows).replace(b"\n", b"\r\n").rstrip()
    if name == "duplicate_key":
        text = lines(rows).split(b"\n")
        text[2] = text[2][:-1] + b',"Age":33}'
        return b"\n".join(text)
    if name == "dates_and_unicode":
        for i, row in enumerate(rows):
            row["Surname"] = f"2020-01-0{1 + i % 9}" if i % 2 else "Ñoño ☃ \\u00e9"
        return lines(rows)
    if name == "number_for_category":
        rows[6]["Geography"] = 3
        for row in rows[32:]:
            row["Gender"] = 1
        return lines(rows)
    if name == "bool_for_number":
        rows[8]["Age"] = True
        for row in rows[16:32]:
            row["HasCrCard"] = row["HasCrCard"] == 1
        return lines(rows)
    if name == "nan_infinity":  # Arrow's parser takes these, JSON does not
        text = lines(rows).split(b"\n")
        text[3] = text[3][:-1] + b', "extra": NaN}'
        text[20] = text[20].replace(b'"Balance":0.0', b'"Balance":Infinity').replace(b'"Age":', b'"Age":-Infinity,"x":')
        return b"\n".join(text)
    if name == "invalid_utf8":
        text = lines(rows).split(b"\n")
        text[5] = text[5].replace(b'"Surname":"', b'"Surname":"\xff')
        text[25] = text[25][:-1] + b', "note": "\xc3("}'
        return b"\n".join(text)
    if name == "two_objects_on_a_line":  # with a blank line elsewhere, rows and lines would count alike
        text = lines(rows).split(b"\n")
        text[4] = text[4] + text[5]
        text[5] = b""
        text[20] = text[20] + b" " + text[21]
        text[21] = b"  "
        return b"\n".join(text)
    if name == "leading_whitespace":
        return b"\n".join(b"  " + line if i % 9 == 4 else line for i, line in enumerate(lines(rows).split(b"\n")))
    if name == "big_numbers":
        rows[0]["CustomerId"] = 2**63 + 5
        rows[1]["EstimatedSalary"] = 1e308
        rows[2]["Balance"] = -0.0
        return lines(rows)
    raise AssertionError(name)


CASES = ("clean", "drift", "drift_in_batch", "null", "missing", "nested", "nested_extra", "bad_json", "blank",
         "scalar", "arrays", "mixed_shapes", "envelope", "refused", "extra_and_order", "crlf_bom_no_final_newline",
         "duplicate_key", "dates_and_unicode", "number_for_category", "bool_for_number", "nan_infinity", "invalid_utf8", "two_objects_on_a_line",
         "leading_whitespace", "big_numbers")


def run(args: list[str], row_by_row: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes, str]:
    with monkeypatch.context() as patch:
        if row_by_row:
            patch.setattr(ndjson_arrow, "read", ndjson.read)
            patch.setattr(json_array, "read_typed", json_array.read)
            patch.setattr(flmcli.features, "NUMERIC_COLUMNS", False)
        result = CliRunner().invoke(cli, ["predict", *args], catch_exceptions=False)
    return result.exit_code, result.stdout_bytes, result.stderr


def assert_same(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes, str]:
    fast = run(args, False, monkeypatch)
    slow = run(args, True, monkeypatch)
    assert fast[0] == slow[0], (fast[2], slow[2])
    assert fast[2] == slow[2]
    assert fast[1] == slow[1]
    return fast


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("to", OUTPUTS)
def test_churn_every_output(case: str, to: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "rows.ndjson"
    source.write_bytes(churn_case(case))
    assert_same([str(CHURN), str(source), "--to", to, "--batch-size", "16"], monkeypatch)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("on_error", ("skip", "null"))
@pytest.mark.parametrize("to", ("ndjson", "parquet"))
def test_churn_on_error(case: str, on_error: str, to: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "rows.ndjson"
    source.write_bytes(churn_case(case))
    assert_same([str(CHURN), str(source), "--to", to, "--batch-size", "16", "--on-error", on_error], monkeypatch)


@pytest.mark.parametrize("case", ("clean", "drift", "null", "nested", "refused", "blank"))
@pytest.mark.parametrize("method", ("predict", "predict_proba"))
def test_positional_model_named_by_features(case: str, method: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "rows.ndjson"
    source.write_bytes(churn_case(case))
    names = ",".join(churn_rows()[0])
    for to in ("ndjson", "csv"):
        assert_same([str(CHURN_POSITIONAL), str(source), "--features", names, "--method", method, "--to", to,
                     "--batch-size", "16", "--on-error", "null"], monkeypatch)


def iris_rows() -> list[dict[str, Any]]:
    base = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5], [6, 2, 5, 1]]
    return [dict(zip("abcd", base[i % 4])) for i in range(30)]


@pytest.mark.parametrize("method", ("predict", "predict_proba", "decision_function"))
@pytest.mark.parametrize("to", OUTPUTS)
def test_float_outputs(method: str, to: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Probabilities and scores: the float formatting is orjson's either way."""
    source = tmp_path / "rows.ndjson"
    rows = iris_rows()
    rows[3]["c"] = None  # in the first batch: a CSV output whose first batch had no error column fails alike (inputs lane)
    source.write_bytes(lines(rows))
    code, out, _ = assert_same([str(IRIS), str(source), "--features", IRIS_NAMES, "--method", method, "--to", to,
                                "--batch-size", "8", "--on-error", "null"], monkeypatch)
    assert code == 0 and out


def test_no_feature_names_is_refused_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "rows.ndjson"
    source.write_bytes(lines(iris_rows()))
    code, _, err = assert_same([str(IRIS), str(source)], monkeypatch)
    assert code == 1 and "no feature names" in err


def test_the_fast_path_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clean object rows are scored from Arrow columns, not decoded row by row (else parity proves nothing)."""
    source = tmp_path / "rows.ndjson"
    source.write_bytes(churn_case("drift"))
    decoded: list[int] = []
    original = ndjson_arrow._decoded

    def counting(*args: Any) -> Any:
        decoded.append(1)
        return original(*args)

    monkeypatch.setattr(ndjson_arrow, "_decoded", counting)
    code, out, _ = run([str(CHURN), str(source), "--batch-size", "16"], False, monkeypatch)
    assert code == 0 and out.count(b"\n") == 40
    assert decoded == []


def json_case(name: str) -> bytes:
    """The same cases as a JSON array of positional rows (or Flama's {"input": [...]} body)."""
    if name in ("bad_json", "blank", "crlf_bom_no_final_newline", "duplicate_key", "missing", "extra_and_order"):
        raise AssertionError(name)
    rows = [orjson.loads(line) for line in churn_case(name).splitlines()]
    values = [list(row.values()) if isinstance(row, dict) and "input" not in row else row for row in rows]
    if name == "envelope":
        return orjson.dumps({"input": [row["input"] if isinstance(row, dict) else row for row in values]})
    return orjson.dumps(values)


JSON_CASES = ("clean", "drift", "drift_in_batch", "null", "nested", "scalar", "arrays", "refused", "envelope",
              "dates_and_unicode", "number_for_category", "bool_for_number", "big_numbers")


@pytest.mark.parametrize("case", JSON_CASES)
@pytest.mark.parametrize("to", OUTPUTS)
def test_json_arrays_every_output(case: str, to: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "rows.json"
    source.write_bytes(json_case(case))
    assert_same([str(CHURN), str(source), "--to", to, "--batch-size", "16"], monkeypatch)


@pytest.mark.parametrize("case", JSON_CASES)
@pytest.mark.parametrize("on_error", ("skip", "null"))
def test_json_arrays_on_error(case: str, on_error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "rows.json"
    source.write_bytes(json_case(case))
    assert_same([str(CHURN), str(source), "--batch-size", "16", "--on-error", on_error], monkeypatch)
    assert_same([str(CHURN_POSITIONAL), str(source), "--batch-size", "16", "--on-error", on_error, "--method",
                 "predict_proba", "--to", "ndjson"], monkeypatch)


def test_typed_columns_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoded rows of plain numbers reach the model as numeric columns (else parity proves nothing)."""
    from flmcli.features import matrix, spec_for

    estimator = flmcli.flm.load(CHURN).estimator
    rows = [list(row.values()) for row in churn_rows()]
    frame = matrix(rows, spec_for(estimator))
    assert str(frame["Age"].dtype) == "int64" and str(frame["Balance"].dtype) == "float64"
    assert frame["Surname"].dtype == object
    rows[3][6] = None
    assert matrix(rows, spec_for(estimator))["Age"].dtype == object
