"""The nesting limit of an NDJSON batch headed for Arrow's JSON reader is checked a piece of text at a time (the
guard's regular expression held ~16x the text given to it at once: 258 MiB for a 64k-row churn batch with a nested
field in each row), and a row deeper than the limit is still found where a piece ends inside it."""

from __future__ import annotations

import io
from typing import Any

import pytest

from flmcli.batch import BadRecord, Batch
from flmcli.formats import ndjson, ndjson_arrow, nesting


def nested_rows(n: int) -> bytes:
    return b"".join(b'{"a": %d, "meta": {"tags": [%d]}}\n' % (i, i) for i in range(n))


def shape(batch: Batch) -> list[object]:
    return [r if isinstance(r, BadRecord) else type(r) for r in batch.records or ()]


@pytest.mark.parametrize("depth", [1024, 1025])
@pytest.mark.parametrize("shift", [0, 7, 600])
def test_a_deep_row_across_pieces_is_judged_as_the_row_by_row_reader_judges_it(
        depth: int, shift: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ndjson_arrow, "_NESTING_PIECE", 1000)  # the deep row spans several pieces
    deep = b'{"a": 1, "deep": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}\n"
    text = nested_rows(40 + shift) + deep + nested_rows(40)
    fast = list(ndjson_arrow.read(io.BytesIO(text), source="s", batch_size=1000))
    slow = list(ndjson.read(io.BytesIO(text), source="s", batch_size=1000))
    assert [len(b) for b in fast] == [len(b) for b in slow]
    for f, s in zip(fast, slow):
        decoded = f.fallback() if f.fallback is not None else f
        assert shape(decoded) == shape(s)
    assert (fast[0].table is not None) == (depth <= nesting.NESTING_LIMIT)


def test_the_guard_is_fed_pieces_of_bounded_size(monkeypatch: pytest.MonkeyPatch) -> None:
    fed: list[int] = []
    feed = nesting.DepthGuard.feed

    def recording(self: nesting.DepthGuard, data: Any) -> None:
        fed.append(len(data))
        feed(self, data)

    monkeypatch.setattr(nesting.DepthGuard, "feed", recording)
    # ~1.1 MB of rows with a nested field (Arrow's reader takes them), each line holding more brackets than the limit
    # (in a string: no row is deep), so no count decides
    text = b"".join(b'{"a": %d, "meta": {"tags": [%d]}, "s": "%s"}\n' % (i, i, b"[" * 1100) for i in range(1000))
    batches = list(ndjson_arrow.read(io.BytesIO(text), source="s", batch_size=1000))
    assert len(batches) == 1 and batches[0].table is not None
    assert sum(fed) == len(text) and max(fed) <= ndjson_arrow._NESTING_PIECE and len(fed) > 1
