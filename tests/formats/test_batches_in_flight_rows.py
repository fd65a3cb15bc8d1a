"""Bounded memory for the row-format writers (NDJSON, JSON): once a batch is written, the writer no longer holds it
while the next batch is scored (its loop variable kept the last batch alive, with its table and model input: one
batch more in memory). test_batches_in_flight covers the columnar writers."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import flmcli.formats.ndjson_arrow
import flmcli.formats.parquet_format
import flmcli.predictor
from flmcli.batch import Batch
from flmcli.cli import cli
from tests.helpers import CHURN, DATA

BATCH = 250
BATCHES = 8


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
    read = module.read
    tables: list[weakref.ref[Any]] = []
    alive_at_call: list[list[bool]] = []

    def tracked(*args: Any, **kwargs: Any) -> Iterator[Batch]:
        for batch in read(*args, **kwargs):
            assert batch.table is not None  # typed columns, scored in one call each
            tables.append(weakref.ref(batch.table))
            yield batch
            del batch

    call = flmcli.predictor.Predictor.call

    def recording(self: Any, X: Any, method: str | None = None) -> Any:
        alive_at_call.append([ref() is not None for ref in tables])
        return call(self, X, method)

    monkeypatch.setattr(module, "read", tracked)
    monkeypatch.setattr(flmcli.predictor.Predictor, "call", recording)
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(path), "-o", str(tmp_path / f"out.{out}"),
                                      "--to", out, "--batch-size", str(BATCH)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert len(alive_at_call) == BATCHES  # one model call per batch: call k scores batch k
    for k in range(1, BATCHES):
        assert alive_at_call[k][k], f"batch {k} is being scored"
        assert not any(alive_at_call[k][:k]), f"batches written before batch {k} still held: {alive_at_call[k][:k]}"
    written = (tmp_path / f"out.{out}").read_bytes()
    rows = orjson.loads(written) if out == "json" else [orjson.loads(line) for line in written.splitlines()]
    assert len(rows) == BATCH * BATCHES
