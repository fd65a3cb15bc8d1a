"""An RFC 7464 JSON text sequence (a \\x1e byte before each record) is refused by name when the format is detected:
read as CSV, a one-record sequence was a header with no rows, "nothing scored", exit 0, and its row lost."""

from __future__ import annotations

import subprocess

import orjson
import pytest

from tests.helpers import CHURN, invoke

ROW = {"RowNumber": 1, "CustomerId": 15634602, "Surname": "Hargrave", "CreditScore": 619, "Geography": "France",
       "Gender": "Female", "Age": 42, "Tenure": 2, "Balance": 0.0, "NumOfProducts": 1, "HasCrCard": 1,
       "IsActiveMember": 1, "EstimatedSalary": 101348.88}


@pytest.mark.parametrize("records", [1, 3])
def test_a_json_text_sequence_is_refused_naming_it(records: int) -> None:
    ran = invoke("predict", CHURN, input=(b"\x1e" + orjson.dumps(ROW) + b"\n") * records)
    assert ran.returncode == 1
    assert ran.stdout == b""
    assert b"<stdin>: the input is a JSON text sequence (RFC 7464" in ran.stderr
    assert b"tr -d '\\036'" in ran.stderr


def test_the_hint_makes_ndjson_that_is_scored() -> None:
    sequence = (b"\x1e" + orjson.dumps(ROW) + b"\n") * 2
    stripped = subprocess.run(["tr", "-d", "\\036"], input=sequence, capture_output=True, check=True).stdout
    ran = invoke("predict", CHURN, input=stripped)
    assert ran.returncode == 0, ran.stderr
    assert len(ran.stdout.splitlines()) == 2
