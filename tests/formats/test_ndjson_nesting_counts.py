"""The nesting limit of an NDJSON batch headed for Arrow's JSON reader, for rows that each hold a nested field: no
line opens more arrays and objects than the limit, so no row can nest deeper, and the scan that skips strings
(~0.5 CPU-s for a 64k-row churn batch, ~7 CPU-s per 1M rows) is not run. Where a line opens more, that scan still
decides exactly."""

from __future__ import annotations

import io

import pytest

from flmcli.formats import ndjson, ndjson_arrow, nesting


def nested_rows(n: int) -> bytes:
    return b"".join(b'{"a": %d, "meta": {"tags": [%d, 2], "src": {"b": "x"}}}\n' % (i, i) for i in range(n))


def deep_row(depth: int) -> bytes:
    return b'{"a": 1, "deep": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}\n"


class Scanned(Exception):
    pass


def no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    def scanned(self: nesting.DepthGuard, data: bytes) -> None:
        raise Scanned

    monkeypatch.setattr(nesting.DepthGuard, "feed", scanned)


def test_rows_with_nested_fields_are_passed_without_the_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    no_scan(monkeypatch)
    text = nested_rows(20_000)  # 80k brackets: past the batch-wide counts
    assert ndjson_arrow._within_nesting_limit(text, 20_000)
    batches = list(ndjson_arrow.read(io.BytesIO(text), source="s", batch_size=20_000))
    assert len(batches) == 1 and batches[0].table is not None and batches[0].table.num_rows == 20_000


@pytest.mark.parametrize("piece", [1 << 18, 1000])
@pytest.mark.parametrize(("depth", "within"), [(1024, True), (1025, False)])
def test_a_row_at_or_past_the_limit_among_them_is_judged_exactly(
        monkeypatch: pytest.MonkeyPatch, piece: int, depth: int, within: bool) -> None:
    monkeypatch.setattr(ndjson_arrow, "_NESTING_PIECE", piece)
    text = nested_rows(5_000) + deep_row(depth) + nested_rows(5_000)
    assert ndjson_arrow._within_nesting_limit(text, 10_001) is within


def test_brackets_in_strings_past_the_limit_go_to_the_scan_which_passes_them() -> None:
    text = nested_rows(2_000) + b'{"a": 1, "s": "' + b"[" * 2_000 + b'"}\n'
    assert not ndjson_arrow._lines_open_few(text, nesting.NESTING_LIMIT)
    assert ndjson_arrow._within_nesting_limit(text, 2_001)


def test_a_line_longer_than_a_piece_goes_to_the_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ndjson_arrow, "_NESTING_PIECE", 100)
    text = nested_rows(3_000) + b'{"a": 1, "s": "' + b"x" * 500 + b'"}\n'
    assert not ndjson_arrow._lines_open_few(text, nesting.NESTING_LIMIT)
    assert ndjson_arrow._within_nesting_limit(text, 3_001)


def test_batches_are_what_the_row_by_row_reader_makes() -> None:
    text = nested_rows(3_000) + deep_row(1025) + nested_rows(3_000)
    fast = list(ndjson_arrow.read(io.BytesIO(text), source="s", batch_size=2_000))
    slow = list(ndjson.read(io.BytesIO(text), source="s", batch_size=2_000))
    assert [len(b) for b in fast] == [len(b) for b in slow]
    decoded = [b.fallback() if b.fallback is not None else b for b in fast]
    assert [b.table is None for b in fast] == [False, True, False, False]
    assert sum(1 for b in decoded for r in (b.records or ()) if not isinstance(r, (dict, list))) == 1
