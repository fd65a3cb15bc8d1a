"""CSV holds no types: a column of category codes (store 1, 2, 3) is read by pyarrow as integers. For a feature
the model was trained on as such text ("1", "2", "3"), the digits are the text as written: CSV scores as the
same rows given as JSON text do, from a file, a pipe and a server. Where digits cannot be the text
as written (categories "01", "02"), and in typed formats (JSON numbers, Parquet integers), a number is refused
as before, naming line and column; a feature of word categories (churn's Gender) still refuses 0 and 1."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from flmcli.features import digits_as_text
from flmcli.text_features import digits_read_back
from tests.helpers import invoke, invoke_through_a_pipe

CODES = ["1", "2", "3", "12", "-4"]


def store_model(path: Path, codes: list[str]) -> Path:
    """Store codes one-hot encoded beside a number; the prediction tells the codes apart."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    import flmcli

    X = pd.DataFrame({"store": np.array(codes * 20, dtype=object), "x": np.arange(len(codes) * 20) % 3 * 1.0})
    y = np.array([i % len(codes) for i in range(len(X))])
    model = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["store"]),
                                                  remainder="passthrough"), LogisticRegression(max_iter=500))
    flmcli.dump(model.fit(X, y), path)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return store_model(tmp_path_factory.mktemp("codes") / "stores.flm", CODES)


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
    from starlette.testclient import TestClient

    from flmcli.predictor import Predictor
    from flmcli.serve import create_app

    with TestClient(create_app(Predictor.from_path(model))) as client:
        text = client.post("/predict/", content=as_text(ROWS),
                           headers={"content-type": "application/x-ndjson", "accept": "application/json"})
        csv = client.post("/predict/", content=as_csv(ROWS),
                          headers={"content-type": "text/csv", "accept": "application/json"})
    assert text.status_code == csv.status_code == 200, csv.text
    assert csv.content == text.content


def test_codes_with_leading_zeros_are_refused_not_guessed(tmp_path: Path) -> None:
    model = store_model(tmp_path / "zeros.flm", ["01", "02", "10"])
    ran = invoke("predict", model, "--from", "csv", input=b"store,x\n10,1\n01,1\n")
    assert ran.returncode == 1
    assert ran.stderr.decode() == ("Error: <stdin>:2: field 'store': expected text (the model was trained on "
                                   "categories: '01', '02', '10'), got the number 10\n")


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


def test_which_features_take_digits() -> None:
    text = ((0, ("1", "2")), (1, ("France", "Spain")), (2, ("01", "2")), (3, ("+1",)), (4, ("-3", "a")),
            (5, ("٣",)))
    assert digits_read_back(text) == frozenset({0, 4})


def test_only_integer_columns_become_their_digits() -> None:
    import pyarrow as pa

    table = pa.table({"a": [1, -20], "b": [1.5, 2.0], "c": ["x", "y"], "d": [True, False]})
    made = digits_as_text(table, frozenset({0, 1, 2, 3, 9}))
    assert made.column("a").to_pylist() == ["1", "-20"]
    assert made.schema.types[1:] == table.schema.types[1:]
