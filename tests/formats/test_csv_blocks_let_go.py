"""A CSV batch gathered from several of the reader's blocks is copied into one chunk per column while it waits to be
scored (features.prepare, so that the model's frame views its numbers); the blocks it was gathered from are let go
then, not held by the reader beside the copy until it reads on: ~7 MiB more per 64k churn rows in flight."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import flmcli
from flmcli.features import prepare
from flmcli.formats import csv_format
from flmcli.predictor import Predictor
from tests.helpers import CHURN, DATA


def test_the_blocks_of_a_batch_copied_into_one_chunk_are_let_go(tmp_path: Path) -> None:
    predictor = Predictor(flmcli.load(CHURN))
    path = tmp_path / "rows.csv"
    pacsv.write_csv(pa.concat_tables([pq.read_table(DATA)] * 20), path)  # 200k rows, 15 MB: 1 MiB reads
    with open(path, "rb") as fp:
        batches = csv_format.read(fp, source=str(path), batch_size=65536)
        batch = next(batches)  # the reader waits at its yield, as while the batch waits for the model
        assert batch.table is not None and batch.table.column("Age").num_chunks > 1
        size = batch.table.nbytes
        before = pa.total_allocated_bytes()
        prepare(batch, predictor.spec)
        grown = pa.total_allocated_bytes() - before
        assert batch.table.column("Age").num_chunks == 1
        second = next(batches)
        assert second.first_row == 65537 and len(second) == 65536  # the rows after it, none lost
        batches.close()
    # With the blocks held, Arrow held the copy beside them: grown by the whole table (7.3 of 7.3 MiB).
    assert grown < size / 2, (grown, size)
