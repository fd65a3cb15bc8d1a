"""While the model loads, `flm predict` reads JSON arrays ahead up to the job's byte budget, counting the typed
columns and the text kept for their fallback; and no garbage collection walks the objects the load makes."""

from __future__ import annotations

import gc
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import flmcli.formats.json_array
import flmcli.job
import flmcli.predictor
from flmcli.cli import cli
from flmcli.formats import json_array
from tests.formats.test_columnar_parity import CHURN, churn_rows


def _array(tmp_path: Path, rows: int = 200) -> Path:
    values = [list(row.values()) for row in churn_rows()]
    source = tmp_path / "rows.json"
    source.write_bytes(orjson.dumps([values[i % len(values)] for i in range(rows)]))
    return source


def test_a_typed_batch_weighs_its_columns_and_its_text(tmp_path: Path) -> None:
    text = _array(tmp_path).read_bytes()
    batches = list(json_array.read_typed(io.BytesIO(text), source="s", batch_size=50))
    assert batches and all(b.table is not None and b.fallback is not None for b in batches)
    for batch in batches:
        # The text its fallback keeps alive: at least its own rows', at most the whole array's.
        rows = batch.fallback().records  # type: ignore[misc]
        own = len(orjson.dumps(rows)) - 2
        assert batch.text_bytes is not None and own <= batch.text_bytes <= len(text)
        assert flmcli.job._table_bytes(batch) == batch.table.nbytes + batch.text_bytes  # type: ignore[union-attr]
    decoded = json_array.read(io.BytesIO(text), source="s", batch_size=50)
    assert all(flmcli.job._table_bytes(b) is None for b in decoded)  # decoded rows: not counted, as before


@pytest.mark.parametrize("budget", [64 << 20, 0])
def test_arrays_are_read_ahead_while_the_model_loads(budget: int, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten batches are read before the model is loaded, not the prefetch depth's two; without the budget the
    load waits for them in vain."""
    source = _array(tmp_path)
    read: list[int] = []
    enough = threading.Event()
    original_read = json_array.read_typed
    original_load = flmcli.predictor.Predictor.from_options.__func__  # type: ignore[attr-defined]
    seen: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for batch in original_read(*args, **kwargs):
            read.append(len(batch))
            if len(read) >= 10:
                enough.set()
            yield batch

    def from_options(cls: type[flmcli.predictor.Predictor], *args: Any) -> flmcli.predictor.Predictor:
        enough.wait(timeout=5 if budget else 2)
        seen.append(len(read))
        return original_load(cls, *args)  # type: ignore[no-any-return]

    monkeypatch.setattr(flmcli.formats.json_array, "read_typed", counting)
    monkeypatch.setattr(flmcli.predictor.Predictor, "from_options", classmethod(from_options))
    monkeypatch.setattr(flmcli.job, "READ_AHEAD_WHILE_LOADING", budget)
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(source), "--batch-size", "16"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert len(orjson.loads(result.stdout_bytes)) == 200
    if budget:
        assert len(seen) == 1 and seen[0] >= 10
    else:
        assert seen == [2]  # depth 2 waiting, none more read until there is room


def test_no_collection_while_the_model_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _array(tmp_path, rows=20)
    loading = threading.Event()
    during: list[int] = []
    original_load = flmcli.predictor.Predictor.from_options.__func__  # type: ignore[attr-defined]

    def from_options(cls: type[flmcli.predictor.Predictor], *args: Any) -> flmcli.predictor.Predictor:
        loading.set()
        try:
            garbage = []
            for _ in range(100_000):  # enough new container objects to trigger collections, were they on
                cycle: list[Any] = []
                cycle.append(cycle)
                garbage.append(cycle)
            assert not gc.isenabled()
            return original_load(cls, *args)  # type: ignore[no-any-return]
        finally:
            loading.clear()

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and loading.is_set():
            during.append(info["generation"])

    monkeypatch.setattr(flmcli.predictor.Predictor, "from_options", classmethod(from_options))
    gc.callbacks.append(watch)
    frozen = gc.get_freeze_count()
    try:
        result = CliRunner().invoke(cli, ["predict", str(CHURN), str(source)], catch_exceptions=False)
        assert gc.isenabled()  # collections resume once the model is loaded
        assert gc.get_freeze_count() > frozen + 100_000  # what the load made is out of later collections
    finally:
        gc.callbacks.remove(watch)
        gc.unfreeze()
        gc.enable()
    assert result.exit_code == 0, result.stderr
    assert during == []
