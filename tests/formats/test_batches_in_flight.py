"""Bounded memory: once a batch is written, nothing on the way from the reader to the writer still holds it while
the next batch is scored (each generator's loop variable used to keep the last batch alive: one batch more in
memory, for every size of input)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import flmcli.formats.csv_format
import flmcli.formats.parquet_format
import flmcli.predictor
from flmcli.batch import Batch
from flmcli.cli import cli
from tests.helpers import CHURN, DATA

BATCH = 250
BATCHES = 8


@pytest.mark.parametrize("source", ["csv", "parquet"])
@pytest.mark.parametrize("out", ["csv", "tsv", "parquet", "arrow"])
def test_a_written_batch_is_released_before_the_next_is_scored(
    tmp_path: Path, source: str, out: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = pq.read_table(DATA).slice(0, BATCH * BATCHES)
    path = tmp_path / f"rows.{source}"
    pacsv.write_csv(table, path) if source == "csv" else pq.write_table(table, path)
    module: Any = flmcli.formats.csv_format if source == "csv" else flmcli.formats.parquet_format
    released_before_the_next(module, path, tmp_path / f"out.{out}", out, monkeypatch)


def released_before_the_next(module: Any, path: Path, target: Path, out: str, monkeypatch: pytest.MonkeyPatch
                             ) -> None:
    """`flm predict` of `path` (read by `module.read`) into `target`, BATCH rows a batch: each model call finds
    its own batch alive and every batch before it released."""
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
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(path), "-o", str(target), "--to", out,
                                      "--batch-size", str(BATCH)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert len(alive_at_call) == BATCHES  # one model call per batch: call k scores batch k
    for k in range(1, BATCHES):
        assert alive_at_call[k][k], f"batch {k} is being scored"
        assert not any(alive_at_call[k][:k]), f"batches written before batch {k} still held: {alive_at_call[k][:k]}"
