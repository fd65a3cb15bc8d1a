"""The Arrow NDJSON reader on its own: live pipes answered row by row, batches cut like the row-by-row reader's."""

from __future__ import annotations

import io

import orjson
import pytest

from flmcli.batch import BadRecord, Batch
from flmcli.formats import ndjson, ndjson_arrow
from tests.formats.live import answered_one_by_one


def rows(n: int, start: int = 0) -> bytes:
    return b"".join(orjson.dumps({"a": i, "b": i / 2, "c": f"x{i}"}) + b"\n" for i in range(start, start + n))


def test_live_pipe_answers_each_row_before_the_next_is_written() -> None:
    got = answered_one_by_one(
        lambda fp: ndjson_arrow.read(fp, source="<pipe>", batch_size=1000, max_delay=0.01), [rows(1, i) for i in range(3)]
    )
    assert [len(b) for b in got] == [1, 1, 1]
    assert all(b.table is not None and b.fallback is not None for b in got)
    assert [b.table.column("a").to_pylist() for b in got if b.table is not None] == [[0], [1], [2]]


@pytest.mark.parametrize("size", [1, 7, 64, 1000])
def test_batches_hold_the_rows_the_row_by_row_reader_would(size: int) -> None:
    text = rows(150)
    bad = text.split(b"\n")
    bad[40] = b'{"a": 1,'  # malformed: that batch is decoded row by row, the others stay columns
    text = b"\n".join(bad)
    fast = list(ndjson_arrow.read(io.BytesIO(text), source="s", batch_size=size))
    slow = list(ndjson.read(io.BytesIO(text), source="s", batch_size=size))
    assert [len(b) for b in fast] == [len(b) for b in slow]
    for f, s in zip(fast, slow):
        decoded = f.fallback() if f.fallback is not None else f
        assert decoded.records == s.records
        assert decoded.lines == s.lines and decoded.first_row == s.first_row
    assert any(b.table is not None for b in fast) or size == 1000


def test_blank_line_hands_the_rest_to_the_row_by_row_reader() -> None:
    text = rows(30) + b"\n" + rows(30, 30)
    fast = list(ndjson_arrow.read(io.BytesIO(text), source="s", batch_size=8))
    slow = list(ndjson.read(io.BytesIO(text), source="s", batch_size=8))
    assert [len(b) for b in fast] == [len(b) for b in slow]
    assert [(b.fallback() if b.fallback else b).lines for b in fast] == [b.lines for b in slow]


@pytest.mark.parametrize("depth", [1024, 1025, 100_000])
def test_rows_past_the_nesting_limit_are_refused_as_the_row_by_row_reader_does(depth: int) -> None:
    deep = b'{"a": 1, "deep": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}\n"
    text = rows(5) + deep + rows(5, 5) + b'{"a": 1, "s": "' + b"[" * 5000 + b'"}\n'
    fast = list(ndjson_arrow.read(io.BytesIO(text), source="s", batch_size=100))
    slow = list(ndjson.read(io.BytesIO(text), source="s", batch_size=100))

    def shape(batch: Batch) -> list[object]:  # deep rows compare by kind: == on them would recurse too deep
        return [r if isinstance(r, BadRecord) else type(r) for r in batch.records or ()]

    assert [shape(b.fallback() if b.fallback else b) for b in fast] == [shape(b) for b in slow]
    assert any(isinstance(r, BadRecord) for r in slow[0].records or ()) == (depth > 1024)
    assert (fast[0].table is not None) == (depth <= 1024)
