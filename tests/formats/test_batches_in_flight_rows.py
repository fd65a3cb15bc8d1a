"""Bounded memory for the row-format writers (NDJSON, JSON): once a batch is written, the writer no longer holds it
while the next batch is scored (its loop variable kept the last batch alive, with its table and model input: one
batch more in memory). test_batches_in_flight covers the columnar writers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

import flmcli.formats.ndjson_arrow
import flmcli.formats.parquet_format
from tests.formats.test_batches_in_flight import BATCH, BATCHES, released_before_the_next
from tests.helpers import DATA


@pytest.mark.parametrize("source", ["ndjson", "parquet"])
@pytest.mark.parametrize("out", ["ndjson", "json"])
def test_a_written_batch_is_released_before_the_next_is_scored(
    tmp_path: Path, source: str, out: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = pq.read_table(DATA).slice(0, BATCH * BATCHES)
    path = tmp_path / f"rows.{source}"
    if source == "ndjson":
        path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in table.to_pylist()))
    else:
        pq.write_table(table, path)
    module: Any = flmcli.formats.ndjson_arrow if source == "ndjson" else flmcli.formats.parquet_format
    released_before_the_next(module, path, tmp_path / f"out.{out}", out, monkeypatch)
    written = (tmp_path / f"out.{out}").read_bytes()
    rows = orjson.loads(written) if out == "json" else [orjson.loads(line) for line in written.splitlines()]
    assert len(rows) == BATCH * BATCHES
