"""An NDJSON line that is not UTF-8 (Latin-1 text, UTF-16) is named as such at the column of its first bad byte,
as CSV names it: orjson's own words were 'str is not valid UTF-8: surrogates not allowed (column 1)', at column
1 whatever the line, from a file, a pipe, the Arrow path and a server body alike."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.helpers import CHURN, invoke

GOOD = orjson.dumps({"RowNumber": 1, "CustomerId": 15634602, "Surname": "Hargrave", "CreditScore": 619,
                     "Geography": "France", "Gender": "Female", "Age": 42, "Tenure": 2, "Balance": 0.0,
                     "NumOfProducts": 1, "HasCrCard": 1, "IsActiveMember": 1, "EstimatedSalary": 101348.88})
LATIN1 = GOOD.replace(b"Hargrave", b"H\xe9rgrave")
COLUMN = GOOD.index(b"Hargrave") + 2  # the byte after 'H', 1-based


@pytest.mark.parametrize("args", [(), ("--keep-input",)])
def test_a_latin1_line_is_named_not_utf8_at_its_column(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(GOOD + b"\n" + LATIN1 + b"\n" + GOOD + b"\n")
    ran = invoke("predict", CHURN, path, *args)
    assert ran.returncode == 1
    assert ran.stderr.decode().splitlines()[0] == f"Error: {path}:2: the text is not UTF-8 (column {COLUMN})"
    assert b"surrogates" not in ran.stderr
    nulls = invoke("predict", CHURN, path, "--on-error", "null", *args)
    assert nulls.returncode == 0
    rows = [orjson.loads(line) for line in nulls.stdout.splitlines()]
    assert len(rows) == 3 and rows[1]["error"] == f"{path}:2: the text is not UTF-8 (column {COLUMN})"


def test_a_line_of_utf16_is_named_as_not_text() -> None:
    ran = invoke("predict", CHURN, "--from", "ndjson", input=GOOD.decode().encode("utf-16"))
    assert ran.returncode == 1
    assert ran.stderr.decode().splitlines()[0] == (
        "Error: <stdin>:1: not text: a NUL byte (binary data, or UTF-16 text); NDJSON is read as UTF-8 text")


def test_a_server_body_says_the_same() -> None:
    from starlette.testclient import TestClient

    from flmcli.predictor import Predictor
    from flmcli.serve.app import create_app

    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        answer = client.post("/predict/", content=GOOD + b"\n" + LATIN1 + b"\n",
                             headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 400
    assert answer.json()["error"] == f"input:2: the text is not UTF-8 (column {COLUMN})"
