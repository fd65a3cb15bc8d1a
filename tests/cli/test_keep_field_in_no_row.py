"""`--keep NAME` writes null where a row lacks NAME (test_keep_field_a_row_lacks); a NAME that no row holds at all
is most likely misspelt, so the run says so on stderr, once, after the rows, and still writes every row."""

from __future__ import annotations

import orjson
import pytest

from tests.cli.test_keep_field_a_row_lacks import lacking, ndjson
from tests.helpers import CHURN, invoke

WARNING = "Warning: --keep {}: no input row has this field; it is written as null"


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_a_kept_name_no_row_holds_is_said_once(fmt: str) -> None:
    records = lacking(0, 1, 2, 3, 4, 5)
    data = ndjson(records) if fmt == "ndjson" else orjson.dumps(records)
    ran = invoke("predict", CHURN, "--from", fmt, "--to", "ndjson", "--keep", "idd,RowNumber", "--batch-size", "2",
                 input=data)
    assert ran.returncode == 0, ran.stderr
    written = [orjson.loads(line) for line in ran.stdout.splitlines()]
    assert [row["idd"] for row in written] == [None] * 6
    assert [row["RowNumber"] for row in written] == [row["RowNumber"] for row in records]
    assert ran.stderr.decode().splitlines() == [WARNING.format("'idd'")]  # one line for three batches


def test_a_name_one_row_holds_says_nothing() -> None:
    records = lacking(0, 1, 2, 3, 4)  # only the last row, in the third batch, has `id`
    ran = invoke("predict", CHURN, "--keep", "id", "--batch-size", "2", input=ndjson(records))
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == b""
    assert [orjson.loads(line)["id"] for line in ran.stdout.splitlines()] == [None] * 5 + ["r5"]


def test_every_name_no_row_holds_is_named() -> None:
    ran = invoke("predict", CHURN, "--keep", "idd,other", input=ndjson(lacking(0, 1, 2, 3, 4, 5)))
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.decode().splitlines() == [WARNING.format("'idd', 'other'")]
