"""CSV holds no types: a column of category codes (store 1, 2, 3) would be read by pyarrow as integers. For a
feature the model was trained on as such text ("1", "2", "3"), the column is read as text, as written: CSV
scores as the same rows given as JSON text do, from a file, a pipe and a server (leading zeros: see
test_csv_text_as_written). In typed formats (JSON numbers, Parquet integers) a number is refused as before,
naming line and column; a feature of word categories (churn's Gender) still refuses 0 and 1."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from flmcli.text_features import read_as_text
from tests.cli.test_csv_text_as_written import code_model, served_as_ndjson_and_csv
from tests.helpers import invoke, invoke_through_a_pipe

CODES = ["1", "2", "3", "12", "-4"]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return code_model(tmp_path_factory.mktemp("codes") / "stores.flm", CODES, column="store")


ROWS = [("1", 0.0), ("2", 1.0), ("3", 2.0), ("12", 0.0), ("-4", 1.0), ("99", 2.0)]


def as_text(rows: list[tuple[str, float]]) -> bytes:
    return b"".join(orjson.dumps({"store": store, "x": x}) + b"\n" for store, x in rows)


def as_csv(rows: list[tuple[str, float]]) -> bytes:
    return b"store,x\n" + b"".join(f"{store},{x}\n".encode() for store, x in rows)


def test_csv_codes_score_as_the_same_rows_given_as_text(model: Path, tmp_path: Path) -> None:
    expected = invoke("predict", model, "--method", "predict_proba", "--from", "ndjson", input=as_text(ROWS))
    assert expected.returncode == 0, expected.stderr
    assert len(set(expected.stdout.splitlines())) == len(ROWS)  # every code scores differently: a real check
    (tmp_path / "rows.csv").write_bytes(as_csv(ROWS))
    from_file = invoke("predict", model, "--method", "predict_proba", "--to", "ndjson", tmp_path / "rows.csv")
    # a pipe that stays open is read as it comes (csv_live): the same rows there
    from_pipe = invoke_through_a_pipe("predict", model, "--method", "predict_proba", "--to", "ndjson", "--from",
                                      "csv", input=as_csv(ROWS))
    for ran in (from_file, from_pipe):
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout == expected.stdout


def test_csv_codes_score_in_the_server(model: Path) -> None:
    text, csv = served_as_ndjson_and_csv(model, as_text(ROWS), as_csv(ROWS))
    assert csv.content == text.content


@pytest.mark.parametrize("fmt", ["ndjson", "parquet"])
def test_typed_formats_still_refuse_numbers(model: Path, tmp_path: Path, fmt: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / f"rows.{fmt}"
    if fmt == "ndjson":
        path.write_bytes(b'{"store": "1", "x": 1}\n{"store": 2, "x": 1}\n')
        line = 2
    else:
        pq.write_table(pa.table({"store": [1, 2], "x": [1.0, 1.0]}), path)
        line = 1
    ran = invoke("predict", model, path)
    assert ran.returncode == 1
    assert ran.stderr.decode().startswith(f"Error: {path}:{line}: field 'store': expected text")


def test_which_features_are_read_as_text() -> None:
    """Those with a category that CSV's type inference reads as something else than its text."""
    text = ((0, ("1", "2")), (1, ("France", "Spain")), (2, ("01", "2")), (3, ("+1",)), (4, ("-3", "a")),
            (5, ("٣",)), (6, ("true", "x")), (7, ("2024-01-31",)), (8, ("NA", "b")), (9, ("1.50",)),
            (10, ("a,b", 'say "hi"', "two\nlines")))
    assert read_as_text(text) == frozenset({0, 2, 3, 4, 6, 7, 8, 9})
