"""JSON arrays through typed columns, read a batch at a time: how much text is read per parse, where `],[` is cut,
how strings reach the model, and which thread makes the model input (issue 11 §1, JSON arrays by wall time)."""

from __future__ import annotations

import io
import random
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest

import flmcli.job
from flmcli import features
from flmcli.batch import Batch
from flmcli.features import FeatureSpec, prepare, text_input, text_table_input
from flmcli.formats import json_array, json_columns
from flmcli.prefetch import prefetch
from tests.formats.live import answered_one_by_one
from tests.formats.test_columnar_parity import CHURN, churn_rows, run


def churn_array(rows: int) -> bytes:
    values = [list(row.values()) for row in churn_rows()]
    return orjson.dumps([values[i % len(values)] for i in range(rows)])


def test_a_batch_is_read_and_parsed_in_one_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the row size is known, each read asks for what the batch still needs: about one parse per batch,
    where fixed 8 kB reads took ~9 for 1,000-row batches. The rows are the row-by-row reader's, in order."""
    monkeypatch.setattr(json_array, "CHUNK_SIZE", 8192)
    parses: list[int] = []
    original = json_columns.parse

    def counting(text: bytes) -> Any:
        table = original(text)
        parses.append(-1 if table is None else table.num_rows)
        return table

    monkeypatch.setattr(json_columns, "parse", counting)
    text = churn_array(20_000)
    batches = list(json_array.read_typed(io.BytesIO(text), source="s", batch_size=1000))
    assert [len(b) for b in batches] == [1000] * 20
    assert all(b.table is not None for b in batches)  # every batch typed: the reads changed nothing about that
    assert -1 not in parses
    assert len(parses) <= 2 * len(batches)
    assert len(parses) < 20_000 * 70 // 8192  # fewer than fixed 8 kB reads make (the rows are ~73 bytes)
    slow = list(json_array.read(io.BytesIO(text), source="s", batch_size=1000))
    assert [b.fallback().records for b in batches if b.fallback] == [b.records for b in slow]


def test_read_sizes_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_array, "CHUNK_SIZE", 1 << 20)
    assert json_array._typed_read_size(73.0, 65536) == int(65536 * 73 * 1.03)
    assert json_array._typed_read_size(73.0, 10) == 1 << 20  # a nearly full batch: a read as before
    assert json_array._typed_read_size(1e9, 65536) == 16 << 20  # huge rows: never more than 16 chunks at once


def test_a_live_pipe_still_answers_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads larger than a row (16 chunks here) never wait for more than the pipe holds: one row, one answer."""
    monkeypatch.setattr(json_array, "CHUNK_SIZE", 64)
    rows = [list(row.values()) for row in churn_rows()][:4]
    pieces = [(b"[" if i == 0 else b",") + orjson.dumps(row) for i, row in enumerate(rows)]
    got = answered_one_by_one(
        lambda fp: json_array.read_typed(fp, source="<pipe>", batch_size=1000, max_delay=0.01), pieces, end=b"]"
    )
    assert [len(b) for b in got] == [1, 1, 1, 1]
    assert [(b.fallback() if b.fallback else b).records for b in got] == [[row] for row in rows]


def reference_cut(text: bytes) -> tuple[np.ndarray, int]:
    """The three full-size comparisons `_cut_rows` replaced."""
    data = np.frombuffer(text, dtype=np.uint8)
    cuts = (data[:-2] == ord("]")) & (data[1:-1] == ord(",")) & (data[2:] == ord("["))
    lines = data.copy()
    lines[1:-1][cuts] = ord("\n")
    return lines, int(np.count_nonzero(cuts)) + 1


@pytest.mark.parametrize("seed", range(20))
def test_rows_are_cut_where_the_three_comparisons_cut(seed: int) -> None:
    generator = random.Random(seed)
    for _ in range(200):
        text = bytes(generator.choice(b'[],"1 a') for _ in range(generator.randrange(0, 40)))
        if len(text) < 3:
            continue
        lines, rows = json_columns._cut_rows(text)
        expected, expected_rows = reference_cut(text)
        assert rows == expected_rows and lines.tobytes() == expected.tobytes(), text
    text = churn_array(500)[1:-1]
    lines, rows = json_columns._cut_rows(text)
    assert rows == 500 and lines.tobytes() == reference_cut(text)[0].tobytes()


def test_strings_reach_the_model_one_object_per_value() -> None:
    names = ("n", "s")
    spec = FeatureSpec(names=names, width=2, by_name=True)
    words = ["France", "Spain", "Germany"]
    values = [words[i % 3] for i in range(1000)]
    table = pa.Table.from_arrays([pa.chunked_array([pa.array(range(600)), pa.array(range(400))]),
                                  pa.chunked_array([pa.array(values[:600]), pa.array(values[600:])])], names=["0", "1"])
    batch = Batch(source="s", table=table, positional=True, fallback=lambda: Batch(source="s", records=[]))
    frame = text_table_input(batch, spec)
    column = frame["s"].to_numpy()
    assert column.dtype == object and column.tolist() == values
    assert len({id(value) for value in column}) == 3
    assert frame["n"].to_numpy().tolist() == list(range(600)) + list(range(400))


def typed_batch() -> Batch:
    return Batch(source="s", table=pa.table({"a": [1, 2], "b": ["x", "y"]}),
                 fallback=lambda: Batch(source="s", records=[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]))


def test_a_typed_input_made_ahead_is_handed_over_once() -> None:
    ab = FeatureSpec(names=("a", "b"), width=2, by_name=True)
    batch = typed_batch()
    prepare(batch, ab)
    assert batch.prepared is not None
    made = batch.prepared[1]
    ba = FeatureSpec(names=("b", "a"), width=2, by_name=True)
    other = text_input(batch, ba)  # made for another spec: not used, made again
    assert other is not None and list(other.columns) == ["b", "a"]
    assert text_input(batch, ab) is made
    assert batch.prepared is None
    again = text_input(batch, ab)
    assert again is not None and again is not made and again.equals(made)


def test_a_typed_batch_that_does_not_fit_is_not_made() -> None:
    spec = FeatureSpec(names=("a", "c"), width=2, by_name=True)
    batch = typed_batch()
    prepare(batch, spec)
    assert batch.prepared is None
    assert text_input(batch, spec) is None  # the predictor then falls back on the decoded rows


def test_a_full_queue_says_so() -> None:
    ahead = prefetch(iter(range(10)), depth=2)
    deadline = time.monotonic() + 10
    while not ahead.full() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ahead.full()
    assert next(ahead) == 0
    ahead.close()


@pytest.mark.parametrize("ahead", [True, False])
def test_who_makes_a_typed_input(ahead: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the queue full the reader, which would wait anyway, makes the next typed batch's model input; with
    the main thread waiting for batches the main thread makes it. Same bytes out either way."""
    source = tmp_path / "rows.json"
    source.write_bytes(churn_array(200))
    threads: list[str] = []
    original = features.text_table_input

    def recording(batch: Batch, spec: FeatureSpec) -> Any:
        threads.append(threading.current_thread().name)
        return original(batch, spec)

    monkeypatch.setattr(features, "text_table_input", recording)
    monkeypatch.setattr(flmcli.job.Job, "_reader_ahead", lambda self: ahead)
    code, out, _ = run([str(CHURN), str(source), "--batch-size", "16"], False, monkeypatch)
    assert code == 0 and len(orjson.loads(out)) == 200
    # The first batches are read while the model loads: no spec yet, so the main thread makes theirs.
    assert threads and threads[-1] == ("flm-prefetch" if ahead else "MainThread")
    if not ahead:
        assert set(threads) == {"MainThread"}
    monkeypatch.setattr(features, "text_table_input", original)
    monkeypatch.setattr(flmcli.job.Job, "_reader_ahead", lambda self: not ahead)
    assert run([str(CHURN), str(source), "--batch-size", "16"], False, monkeypatch)[1] == out


def test_array_rows_are_parsed_on_the_reader_thread_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrays: Arrow's CSV reader without its thread pool (ARRAY_USE_THREADS); NDJSON objects keep USE_THREADS."""
    calls: list[bool] = []
    original = json_columns._fields

    def spying(text: Any, width: int, *, threads: bool) -> Any:
        calls.append(threads)
        return original(text, width, threads=threads)

    monkeypatch.setattr(json_columns, "_fields", spying)
    batches = list(json_array.read_typed(io.BytesIO(churn_array(300)), source="s", batch_size=100))
    assert [len(b) for b in batches] == [100] * 3 and all(b.table is not None for b in batches)
    assert calls and set(calls) == {json_columns.ARRAY_USE_THREADS} == {False}
    calls.clear()
    assert json_columns.parse(b'[1, "a"], [2, "b"]') is not None  # json.dumps separators: the other path
    assert calls == [False]
    calls.clear()
    lines = b"".join(orjson.dumps(row) + b"\n" for row in churn_rows()[:5])
    assert json_columns.parse_objects(lines, 5) is not None
    assert calls == [json_columns.USE_THREADS] == [True]
