"""A JSON object that gives a key twice (`{"Age": 42, ..., "Age": 99}`) is a bad row naming the key and its line,
in NDJSON and JSON arrays, from a file, a pipe and a server body, with or without --keep-input; --on-error
decides as for any bad row. orjson kept the last value silently (Arrow's JSON reader refuses such a row, and
then the rows were decoded by orjson). A string holding `":` is no key."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.helpers import CHURN, invoke, invoke_through_a_pipe

ROW = {"RowNumber": 1, "CustomerId": 15634602, "Surname": "Hargrave", "CreditScore": 619, "Geography": "France",
       "Gender": "Female", "Age": 42, "Tenure": 2, "Balance": 0, "NumOfProducts": 1, "HasCrCard": 1,
       "IsActiveMember": 1, "EstimatedSalary": 101348.88}
GOOD = orjson.dumps(ROW)
TWICE = GOOD[:-1] + b',"Age":99}'
MESSAGE = "field 'Age' is given twice in this object (which value is meant, JSON leaves undefined)"


def ndjson(*rows: bytes) -> bytes:
    return b"".join(row + b"\n" for row in rows)


def array(*rows: bytes) -> bytes:
    return b"[" + b",\n".join(rows) + b"]"


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
@pytest.mark.parametrize("keep", [[], ["--keep-input"]], ids=["", "keep-input"])
def test_a_key_twice_is_a_bad_row_naming_it(fmt: str, keep: list[str], tmp_path: Path) -> None:
    text = (ndjson if fmt == "ndjson" else array)(GOOD, TWICE, GOOD)
    path = tmp_path / f"rows.{fmt}"
    path.write_bytes(text)
    for ran, name in ((invoke("predict", CHURN, path, *keep), str(path)),
                      (invoke("predict", CHURN, "--from", fmt, *keep, input=text), "<stdin>"),
                      (invoke_through_a_pipe("predict", CHURN, "--from", fmt, *keep, input=text), "<stdin>")):
        assert ran.returncode == 1
        assert ran.stderr.decode().splitlines()[0] == f"Error: {name}:2: {MESSAGE}"


def test_on_error_null_keeps_the_row_in_place(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_bytes(array(GOOD, TWICE, GOOD))
    ran = invoke("predict", CHURN, path, "--on-error", "null")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == b"[0,null,0]\n"


def test_a_string_holding_a_key_like_text_is_no_key(tmp_path: Path) -> None:
    quoted = orjson.dumps({**ROW, "Surname": 'say "Age": 3'})
    for text, fmt in ((ndjson(quoted, GOOD), "ndjson"), (array(quoted, GOOD), "json")):
        ran = invoke("predict", CHURN, "--from", fmt, "--to", "ndjson", input=text)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout == b'{"prediction":0}\n{"prediction":0}\n'


def test_a_server_answers_400_naming_the_row() -> None:
    from starlette.testclient import TestClient

    from flmcli.predictor import Predictor
    from flmcli.serve import create_app

    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        envelope = client.post("/predict/", content=b'{"input":' + array(GOOD, TWICE) + b"}",
                               headers={"content-type": "application/json"})
        lines = client.post("/predict/", content=ndjson(GOOD, TWICE),
                            headers={"content-type": "application/x-ndjson"})
        fine = client.post("/predict/", content=b'{"input":' + array(GOOD, GOOD) + b"}",
                           headers={"content-type": "application/json"})
    assert (envelope.status_code, envelope.json()) == (400, {"error": f"input:2: {MESSAGE}"})
    assert (lines.status_code, lines.json()) == (400, {"error": f"input:2: {MESSAGE}"})
    assert (fine.status_code, fine.json()) == (200, {"output": [0, 0]})
