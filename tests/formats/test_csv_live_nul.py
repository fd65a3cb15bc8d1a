"""From a live pipe (csv_live), a NUL byte in a value read after clean pieces is still refused, naming line and
column: values are searched for one only once a piece held one, and every piece is looked at before its rows
are checked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import pytest

from flmcli.batch import Batch
from flmcli.errors import InputError
from flmcli.formats import csv_format
from tests.formats.live import answered_one_by_one
from tests.helpers import CHURN, invoke_through_a_pipe

HEADER = ("RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,HasCrCard,"
          "IsActiveMember,EstimatedSalary")
ROW = "1,15634602,Hargrave,619,France,Female,42,2,0,1,1,1,101348.88"


def test_a_nul_byte_in_a_later_piece_of_a_live_pipe() -> None:
    errors: list[InputError] = []

    def read(fp: BinaryIO) -> Iterator[Batch]:
        try:
            yield from csv_format.read(fp, source="<stdin>", batch_size=100, max_delay=0.01)
        except InputError as error:
            errors.append(error)

    first = f"{HEADER}\n{ROW}\n{ROW}\n".encode()  # answered (after --max-delay) before the bad row is written
    got = answered_one_by_one(read, [first], end=b"1,2,Har\0grave,619,France,Female,42,2,0,1,1,1,1.5\n")
    assert [batch.table.num_rows for batch in got if batch.table is not None] == [2]
    assert len(errors) == 1
    message = str(errors[0])
    assert message.startswith("<stdin>:4: field 'Surname': not text: a NUL byte"), message


@pytest.mark.parametrize(("bad", "field"), [
    ("1,15634602,Hargrave,619,Fra\0nce,Female,42,2,0,1,1,1,101348.88", "Geography"),
    ("1,15634602,Harg\0rave,619,France,Female,42,2,0,1,1,1,101348.88", "Surname"),
])
def test_a_nul_byte_after_many_clean_rows_through_a_pipe(bad: str, field: str) -> None:
    before = 50_000  # ~3 MB: several pipe reads before the bad row
    text = "\n".join([HEADER, *[ROW] * before, bad, *[ROW] * 10]).encode() + b"\n"
    ran = invoke_through_a_pipe("predict", CHURN, "--from", "csv", input=text)
    assert ran.returncode == 1
    message = ran.stderr.decode().splitlines()[0]
    assert message.startswith(f"Error: <stdin>:{before + 2}: field '{field}': not text: a NUL byte"), message
