"""A batch's table is copied into one chunk per column (features.prepare, on the reader thread beside the batch being
scored) column by column, each column's chunks let go as soon as its copy is made, rather than the whole table held
until the last column is copied: a 64k-row churn CSV batch held 7.3 MiB twice at the end of its copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import flmcli
from flmcli.batch import Batch
from flmcli.features import from_table, prepare
from flmcli.predictor import Predictor
from tests.helpers import CHURN, DATA


def test_each_columns_chunks_are_let_go_as_it_is_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = Predictor(flmcli.load(CHURN))
    path = tmp_path / "rows.csv"
    pacsv.write_csv(pq.read_table(DATA), path)
    # blocks of their own (as the CSV reader hands them on), not slices of one table's buffers
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16, use_threads=False))
    expected = pacsv.read_csv(path)  # the same values, apart: `table` itself is to be let go
    assert table.column("Age").num_chunks > 4
    size = table.nbytes
    batch = Batch(source=str(path), table=table)
    del table
    start = pa.total_allocated_bytes()
    held: list[int] = []
    original = pa.chunked_array

    def watching(*args: Any, **kwargs: Any) -> Any:  # called with each column's copy, once it is made
        held.append(pa.total_allocated_bytes() - start)
        return original(*args, **kwargs)

    monkeypatch.setattr(pa, "chunked_array", watching)
    prepare(batch, predictor.spec)
    monkeypatch.undo()
    assert len(held) >= len(predictor.spec.names or ())  # the model's columns at least, each copied once
    assert batch.table is not None and batch.table.column("Age").num_chunks == 1
    assert batch.table.equals(expected)
    # Held at once: one column twice (its chunks and its copy), 0.09x of the table; the whole table twice before
    # (0.93x more at the last column: the 13 columns the model takes, of 14)
    assert max(held) < size / 5, (held, size)
    frame = from_table(batch, predictor.spec)
    assert len(frame) == 10000
