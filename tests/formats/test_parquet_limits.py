"""Parquet list columns: a row group may not declare more list values than its stored size could honestly hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flmcli.formats import parquet_format, parquet_limits
from tests.helpers import CHURN, DATA, invoke

MIB = 1 << 20


def _with_lists(path: Path, values: np.ndarray, rows: int = 3, **options: object) -> pa.Table:
    """Churn rows with an extra list column `extra`, its values split evenly over the rows."""
    table = pq.read_table(DATA).slice(0, rows).replace_schema_metadata(None)
    step = len(values) // rows
    offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * step)
    table = table.append_column("extra", pa.ListArray.from_arrays(offsets, pa.array(values)))
    pq.write_table(table, path, store_schema=False, **options)  # type: ignore[arg-type]
    return table


def _read(path: Path) -> pa.Table:
    with open(path, "rb") as fp:
        return pa.concat_tables(b.table for b in parquet_format.read(fp, source=str(path), batch_size=1000)
                                if b.table is not None)


def test_a_run_length_bomb_in_a_list_column_is_refused_before_it_is_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet_limits, "FLOOR", MIB)
    path = tmp_path / "bomb.parquet"
    _with_lists(path, np.zeros(600_000, dtype=np.int64), compression="zstd")
    assert path.stat().st_size < 20_000  # 7 MiB of list values decoded
    with pytest.raises(parquet_format.InputError) as caught:
        _read(path)
    assert caught.value.field == "extra.list.element"
    assert "row group 0 declares 600,000 list values" in str(caught.value)


def test_lists_that_store_at_their_size_are_read_whatever_they_decode_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random floats (embeddings) compress about 1:1: far beyond the floor, still read, the same as pyarrow reads."""
    monkeypatch.setattr(parquet_limits, "FLOOR", MIB)
    path = tmp_path / "embeddings.parquet"
    _with_lists(path, np.random.default_rng(0).random(400_000), rows=2000, row_group_size=500)
    assert _read(path).equals(pq.read_table(path))


def test_small_lists_are_read_under_the_floor(tmp_path: Path) -> None:
    path = tmp_path / "small.parquet"
    _with_lists(path, np.zeros(3_000, dtype=np.int64))  # 36 kB decoded from a few hundred bytes
    assert _read(path).equals(pq.read_table(path))


def test_flm_predict_names_the_file_and_column_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bomb.parquet"
    _with_lists(path, np.zeros(30_000_000, dtype=np.int64), compression="zstd")  # 343 MiB decoded, a few kB stored
    result = invoke("predict", CHURN, path)
    assert result.returncode == 1, result.stderr
    assert result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        f"Error: {path}: field 'extra.list.element': row group 0 declares 30,000,000 list values (343 MiB decoded)"
        f" in {pq.ParquetFile(path).metadata.row_group(0).column(14).total_compressed_size:,} stored bytes; a list"
        " column may decode to at most 256 MiB or 64 times its stored size"
    ]
