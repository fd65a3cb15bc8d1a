"""An Arrow IPC stream cut in the middle of a record batch: the whole batches before the cut are scored and
written, then exit 1 naming the input, as a truncated NDJSON input's rows before the cut are. The batches were
gathered up to a 64k-row table first, so a short stream wrote nothing at all before the error."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, DATA, invoke


def stream(table: pa.Table, rows_per_batch: int) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        for start in range(0, table.num_rows, rows_per_batch):
            writer.write_batch(table.slice(start, rows_per_batch).to_batches()[0])
    return sink.getvalue()


@pytest.fixture
def rows() -> pa.Table:
    return pq.read_table(DATA).slice(0, 90).combine_chunks()


def test_a_cut_stream_writes_the_whole_batches_before_the_cut(rows: pa.Table, tmp_path: Path) -> None:
    whole = stream(rows, 30)
    cut = whole[: len(stream(rows.slice(0, 60), 30)) + 200]  # two batches whole, the third begun
    ran = invoke("predict", CHURN, "-", "--to", "ndjson", input=cut)
    assert ran.returncode == 1
    assert b"<stdin>" in ran.stderr and b"cannot read Arrow IPC" in ran.stderr
    assert b"Traceback" not in ran.stderr
    written = [orjson.loads(line) for line in ran.stdout.splitlines()]
    expected = [orjson.loads(line) for line in invoke("predict", CHURN, "-", "--to", "ndjson",
                                                       input=stream(rows.slice(0, 60), 30)).stdout.splitlines()]
    assert len(written) == 60 and written == expected


def test_the_whole_stream_is_read_as_before(rows: pa.Table) -> None:
    ran = invoke("predict", CHURN, "-", "--to", "ndjson", input=stream(rows, 30))
    assert ran.returncode == 0, ran.stderr
    assert len(ran.stdout.splitlines()) == 90
