"""`--keep-input` writes each input field beside the outputs; an input field named like an output (`prediction`
from an earlier model in a chain, or `error`) is replaced by the output, as a chain of models wants, and said so
on stderr, once, with the way to keep both. Fields of other names say nothing."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, DATA, invoke

WARNING = "Warning: the input field {!r} is replaced by the output of that name"


def rows(n: int, **extra: object) -> list[dict[str, object]]:
    return [{**row, **extra} for row in pq.read_table(DATA).slice(0, n).to_pylist()]


def ndjson(records: list[dict[str, object]]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


@pytest.mark.parametrize("to", ["ndjson", "csv", "json"])
def test_an_input_field_named_like_the_output_is_replaced_and_said_once(to: str) -> None:
    ran = invoke("predict", CHURN, "--keep-input", "--batch-size", "2", "--to", to,
                 input=ndjson(rows(5, prediction="from an earlier model")))
    assert ran.returncode == 0, ran.stderr
    assert b"from an earlier model" not in ran.stdout
    lines = ran.stderr.decode().splitlines()
    assert [line for line in lines if line.startswith(WARNING.format("prediction"))] == lines  # one line, 3 batches
    assert len(lines) == 1 and "--output-name" in lines[0]


def test_in_a_later_batch_a_table_and_the_error_column() -> None:
    records = rows(4) + rows(1, prediction=1)  # only the last row, in the third batch, has the field
    ran = invoke("predict", CHURN, "--keep-input", "--batch-size", "2", input=ndjson(records))
    assert ran.returncode == 0
    assert ran.stderr.decode().startswith(WARNING.format("prediction"))
    table = pa.Table.from_pylist(rows(3, error="mine"))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    ran = invoke("predict", CHURN, "--keep-input", "--on-error", "null", "--from", "parquet", "--to", "ndjson",
                 input=sink.getvalue().to_pybytes())
    assert ran.returncode == 0
    assert ran.stderr.decode().startswith(WARNING.format("error"))
    # NDJSON gives `error` to failed rows only: the kept "mine" is not written as if it were a failure
    assert [orjson.loads(line).get("error") for line in ran.stdout.splitlines()] == [None] * 3


def test_no_word_when_nothing_is_replaced() -> None:
    ran = invoke("predict", CHURN, "--keep-input", input=ndjson(rows(3)))
    assert ran.returncode == 0 and ran.stderr == b""
    for args in (["--keep-input", "--output-name", "churned"], []):
        ran = invoke("predict", CHURN, *args, input=ndjson(rows(3, prediction=1)))
        assert ran.returncode == 0
        assert ran.stderr == b"", args
    ran = invoke("predict", CHURN, "--keep", "Age", input=ndjson(rows(3, prediction=1)))
    assert ran.returncode == 0 and ran.stderr == b""
