"""A CSV column for a feature the model was trained on as text is read as the text written there, exactly: a
code with leading zeros ("02139") is not the number 2139 (another category, or none: a silently wrong answer),
nor are "1.50", "true", "2024-01-31" or "NA" a number, a boolean, a date or a missing value. CSV scores as the
same rows given as JSON strings, from a file (in the reader's first block and past it), a pipe, TSV, a server
body and a Dask cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.helpers import invoke, invoke_through_a_pipe

ZIPS = ["02139", "2139", "00501", "501", "10001"]


def code_model(path: Path, codes: list[str], column: str = "code") -> Path:
    """`codes` (in `column`) one-hot encoded beside a number; each code predicts its own class, so a wrong code
    shows."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    import flmcli

    X = pd.DataFrame({column: np.array(codes * 20, dtype=object), "x": np.arange(len(codes) * 20) % 3 * 1.0})
    y = np.array([i % len(codes) for i in range(len(X))])
    model = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), [column]),
                                                  remainder="passthrough"), LogisticRegression(max_iter=500))
    flmcli.dump(model.fit(X, y), path)
    return path


def as_ndjson(codes: list[str]) -> bytes:
    return b"".join(orjson.dumps({"code": code, "x": 1.0}) + b"\n" for code in codes)


def as_csv(codes: list[str], delimiter: str = ",") -> bytes:
    return f"code{delimiter}x\n".encode() + b"".join(f"{code}{delimiter}1.0\n".encode() for code in codes)


def classes(ran_stdout: bytes) -> list[str]:
    return ran_stdout.decode().split()


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return code_model(tmp_path_factory.mktemp("zips") / "zips.flm", ZIPS)


def expected(model: Path, codes: list[str]) -> list[str]:
    ran = invoke("predict", model, "--from", "ndjson", "--to", "csv", input=as_ndjson(codes))
    assert ran.returncode == 0, ran.stderr
    return classes(ran.stdout)


def test_leading_zeros_are_kept_from_a_file_a_pipe_and_tsv(zips: Path, tmp_path: Path) -> None:
    rows = ZIPS + ["00501", "02139"]
    want = expected(zips, rows)
    assert want == ["prediction", "0", "1", "2", "3", "4", "2", "0"]  # every zip its own class: a real check
    (tmp_path / "zips.csv").write_bytes(as_csv(rows))
    (tmp_path / "zips.tsv").write_bytes(as_csv(rows, "\t"))
    runs = {
        "file": invoke("predict", zips, tmp_path / "zips.csv", "--to", "csv"),
        "tsv": invoke("predict", zips, tmp_path / "zips.tsv", "--to", "csv"),
        "stdin": invoke("predict", zips, "--from", "csv", "--to", "csv", input=as_csv(rows)),
        "pipe": invoke_through_a_pipe("predict", zips, "--from", "csv", "--to", "csv", input=as_csv(rows)),
    }
    for name, ran in runs.items():
        assert ran.returncode == 0, (name, ran.stderr)
        assert classes(ran.stdout) == want, name


def test_past_the_first_block_of_a_big_file(zips: Path, tmp_path: Path) -> None:
    """The reader types its columns from its first 4 MiB; a zip with leading zeros first seen after it, or only
    there, is still its text."""
    from flmcli.formats import csv_format

    filler = ["10001", "2139"] * (csv_format.BLOCK_SIZE // 8)
    rows = ["02139", *filler, "00501", "02139"]
    path = tmp_path / "big.csv"
    path.write_bytes(as_csv(rows))
    assert path.stat().st_size > 2 * csv_format.BLOCK_SIZE
    ran = invoke("predict", zips, path, "--to", "csv")
    assert ran.returncode == 0, ran.stderr
    got = classes(ran.stdout)
    assert len(got) == len(rows) + 1
    assert (got[1], got[-2], got[-1]) == ("0", "2", "0")
    only_later = ["10001", "2139"] * (csv_format.BLOCK_SIZE // 8) + ["00501"]
    path.write_bytes(as_csv(only_later))
    ran = invoke("predict", zips, path, "--to", "csv")
    assert ran.returncode == 0, ran.stderr
    assert classes(ran.stdout)[-1] == "2"


@pytest.mark.parametrize(("codes", "rows"), [
    (["01", "1", "+1", "-0"], ["01", "1", "+1", "-0"]),
    (["1.50", "1.5", "2"], ["1.50", "1.5", "2"]),
    (["true", "True", "no"], ["true", "True"]),
    (["2024-01-31", "2024-02-01", "x"], ["2024-01-31", "2024-02-01"]),
    (["12:30:00", "13:00:00", "x"], ["12:30:00", "13:00:00"]),
    (["NA", "n/a", "x"], ["NA", "n/a"]),
], ids=["signs", "decimals", "booleans", "dates", "times", "missing-words"])
def test_categories_csv_would_type_are_read_as_written(codes: list[str], rows: list[str], tmp_path: Path) -> None:
    """`rows` alone in a column are typed by CSV's inference (a number, a boolean, a date, a time, nulls)."""
    model = code_model(tmp_path / "codes.flm", codes)
    want = expected(model, rows)
    assert len(set(want[1:])) == len(rows)
    ran = invoke("predict", model, "--from", "csv", "--to", "csv", input=as_csv(rows))
    assert ran.returncode == 0, ran.stderr
    assert classes(ran.stdout) == want


def served_as_ndjson_and_csv(model: Path, ndjson: bytes, csv: bytes) -> tuple[Any, Any]:
    """A server's answers to the same rows POSTed to /predict/ as NDJSON and as CSV, both 200."""
    from starlette.testclient import TestClient

    from flmcli.predictor import Predictor
    from flmcli.serve import create_app

    with TestClient(create_app(Predictor.from_path(model))) as client:
        text = client.post("/predict/", content=ndjson,
                           headers={"content-type": "application/x-ndjson", "accept": "application/json"})
        table = client.post("/predict/", content=csv, headers={"content-type": "text/csv", "accept": "application/json"})
    assert text.status_code == table.status_code == 200, table.text
    return text, table


def test_a_server_reads_a_csv_body_as_written(zips: Path) -> None:
    text, csv = served_as_ndjson_and_csv(zips, as_ndjson(ZIPS), as_csv(ZIPS))
    assert csv.content == text.content
    assert len(set(text.content.split(b","))) == len(ZIPS)


def test_word_categories_still_refuse_numbers(tmp_path: Path) -> None:
    """Only features with categories CSV would misread are read as text: 0/1 for churn's Gender stays a
    label-encoded column, refused, naming line and field."""
    model = code_model(tmp_path / "words.flm", ["Female", "Male"])
    ran = invoke("predict", model, "--from", "csv", input=as_csv(["0", "1"]))
    assert ran.returncode == 1
    assert ran.stderr.decode() == ("Error: <stdin>:2: field 'code': expected text (the model was trained on "
                                   "categories: 'Female', 'Male'), got the number 0\n")
