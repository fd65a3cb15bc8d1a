"""The NDJSON Arrow reader's byte counts (lines, lines opening with `{`, brackets) agree with bytes.count on
either side of the size where numpy takes over, at every alignment; and decide batches as before."""

from __future__ import annotations

import io
import random

import orjson
import pytest

from flmcli.formats import ndjson, ndjson_arrow

SIZES = [0, 1, 2, 3, ndjson_arrow._NUMPY_FROM - 1, ndjson_arrow._NUMPY_FROM, ndjson_arrow._NUMPY_FROM + 1,
         3 * ndjson_arrow._NUMPY_FROM + 7]


def _text(size: int, seed: int) -> bytes:
    """`size` bytes drawn mostly from the characters counted, so pairs fall at odd and even offsets alike."""
    pick = random.Random(seed).choices
    return bytes(pick(b'\n{[}]"a1 ', k=size))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("seed", [0, 1])
def test_counts_agree_with_bytes_count(size: int, seed: int) -> None:
    text = _text(size, seed)
    assert ndjson_arrow._occurrences(text, b"\n") == text.count(b"\n")
    assert ndjson_arrow._occurrences(text, b"{", b"[") == text.count(b"{") + text.count(b"[")
    assert ndjson_arrow._lines_opening_object(text) == text.count(b"\n{") + (text[:1] == b"{")
    shifted = b"x" + text  # the same pairs one byte later: the other of the two 16-bit views
    assert ndjson_arrow._lines_opening_object(shifted) == shifted.count(b"\n{")


def _rows(n: int) -> list[bytes]:
    return [orjson.dumps({"a": i, "b": f"s{i}", "c": i / 4}) for i in range(n)]


@pytest.mark.parametrize("broken", ["blank", "indented", "two-on-a-line", "deep", None])
def test_large_batches_decided_as_the_row_by_row_reader_reads_them(broken: str | None) -> None:
    """Batches bigger than the numpy threshold: a line that does not open with `{`, or nesting past the limit,
    still sends the batch down the row-by-row road, with the same rows and line numbers."""
    lines = _rows(10000)
    if broken == "blank":
        lines.insert(5000, b"")
    elif broken == "indented":
        lines[6001] = b" " + lines[6001]
    elif broken == "two-on-a-line":
        lines[7500] = lines[7500] + lines[7499]
    elif broken == "deep":
        lines[9999] = b'{"a":' + b"[" * 1100 + b"]" * 1100 + b"}"
    text = b"\n".join(lines) + b"\n"
    assert len(text) > 4 * ndjson_arrow._NUMPY_FROM
    arrow = list(ndjson_arrow.read(io.BytesIO(text), source="t", batch_size=4096))
    plain = list(ndjson.read(io.BytesIO(text), source="t", batch_size=4096))
    decoded = [b.fallback() if b.fallback is not None else b for b in arrow]
    assert [len(b) for b in decoded] == [len(b) for b in plain]
    assert [b.records for b in decoded] == [b.records for b in plain]
    assert [b.lines for b in decoded] == [b.lines for b in plain]
    typed = [b.table is not None for b in arrow]
    if broken is None:
        assert all(typed)
    else:
        assert not all(typed)  # the batch holding the odd line went row by row
