"""Parquet pages are decoded on the reader's own thread, not on pyarrow's thread pool: the pool's threads held
~20-25 MiB more peak RSS of `flm predict` from 1M churn rows up, for no speed (parquet_format.USE_THREADS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flmcli.formats import parquet_format
from tests.helpers import DATA


def _read_spied(path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> tuple[list[pa.Table], list[Any]]:
    """The tables read, and the `use_threads` each of pyarrow's batch iterators was asked for."""
    asked: list[Any] = []
    iter_batches = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: Any, **options: Any) -> Any:
        asked.append(options.get("use_threads", "pyarrow's default: threads"))
        return iter_batches(self, *args, **options)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    with open(path, "rb") as fp:
        if "row_groups" in kwargs:
            batches = parquet_format.read_row_groups(fp, source=str(path), batch_size=3000, **kwargs)
        else:
            batches = parquet_format.read(fp, source=str(path), batch_size=3000)
        tables = [batch.table for batch in batches if batch.table is not None]
    return tables, asked


def _churn(path: Path) -> pa.Table:
    table = pq.read_table(DATA)
    pq.write_table(table, path, row_group_size=4000)  # 3 row groups: 4000, 4000, 2000 rows
    return table


def test_each_row_group_is_decoded_on_the_reader_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "churn.parquet"
    table = _churn(path)
    tables, asked = _read_spied(path, monkeypatch)
    assert asked == [False, False, False]
    assert pa.concat_tables(tables).equals(table)  # every row, in order, whatever the threads
    assert [t.num_rows for t in tables] == [3000, 3000, 3000, 1000]


def test_a_dask_partition_of_row_groups_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "churn.parquet"
    table = _churn(path)
    tables, asked = _read_spied(path, monkeypatch, row_groups=[1, 2])
    assert asked == [False, False]
    assert pa.concat_tables(tables).equals(table.slice(4000))
