"""NDJSON batches from a regular file hold their typed columns only: the text a batch was parsed from is read again
from the file when its rows must be decoded one by one (a bad row named, --on-error), instead of being kept for
as long as the batch waits and is scored (~15 MB per 64k-row churn batch). Pipes and in-memory bodies keep it."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from flmcli.batch import Batch
from flmcli.errors import InputError
from flmcli.formats import ndjson, ndjson_arrow, open_input
from tests.helpers import CHURN, invoke


def rows(n: int, start: int = 0) -> bytes:
    return b"".join(orjson.dumps({"a": i, "b": i / 2, "c": f"x{i}"}) + b"\n" for i in range(start, start + n))


def holds_text(batch: Batch) -> bool:
    """Whether the batch's fallback keeps bytes of its rows."""
    fallback = batch.fallback
    assert fallback is not None
    return any(isinstance(arg, bytes) for arg in getattr(fallback, "args", ()))


def read_file(path: Path, size: int) -> list[Batch]:
    with open_input(str(path)) as opened:
        return list(ndjson_arrow.read(opened.fp, source=opened.name, batch_size=size))


@pytest.mark.parametrize("size", [1, 7, 64, 1000])
@pytest.mark.parametrize("head", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("end", [b"", b"\n"])
def test_rows_read_again_from_a_file_are_the_rows_the_row_by_row_reader_gives(
    tmp_path: Path, size: int, head: bytes, end: bytes
) -> None:
    text = head + rows(150).rstrip(b"\n") + end
    path = tmp_path / "rows.ndjson"
    path.write_bytes(text)
    fast = read_file(path, size)
    slow = list(ndjson.read(io.BytesIO(text), source=str(path), batch_size=size))
    assert [len(b) for b in fast] == [len(b) for b in slow]
    assert all(b.table is not None and not holds_text(b) for b in fast)
    for f, s in zip(fast, slow):
        assert f.fallback is not None
        decoded = f.fallback()
        assert decoded.records == s.records
        assert decoded.lines == s.lines and decoded.first_row == s.first_row


def test_in_memory_input_keeps_its_text() -> None:
    batches = list(ndjson_arrow.read(io.BytesIO(rows(20)), source="s", batch_size=8))
    assert batches and all(holds_text(b) for b in batches)


def test_a_file_changed_after_it_was_read_is_refused_not_decoded_as_other_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.ndjson"
    path.write_bytes(rows(30))
    with open_input(str(path)) as opened:
        batches = list(ndjson_arrow.read(opened.fp, source=opened.name, batch_size=8))
        with open(path, "r+b") as rewrite:  # the same file, written in place: fewer lines where batch 2 was
            rewrite.seek(len(rows(8)))
            rewrite.write(b" " * len(rows(8)))
        assert batches[1].fallback is not None
        with pytest.raises(InputError, match="changed while it was read") as caught:
            batches[1].fallback()
    assert caught.value.line == 9


def test_a_bad_row_in_a_late_batch_is_named_with_its_line(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from tests.helpers import DATA

    table = pq.read_table(DATA).slice(0, 40)
    lines = [orjson.dumps(row) for row in table.to_pylist()]
    lines[33] = lines[33].replace(b'"Age":', b'"Age":"old","was":')  # batch 5 of 8-row batches, line 34
    path = tmp_path / "rows.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    ran = invoke("predict", CHURN, path, "--batch-size", "8")
    assert ran.returncode != 0
    message = ran.stderr.decode()
    assert f"{path}:34" in message and "Age" in message, message
    assert len(ran.stdout.splitlines()) == 33  # the rows before it, written in order
    skipped = invoke("predict", CHURN, path, "--batch-size", "8", "--on-error", "null")
    assert skipped.returncode == 0
    out = [orjson.loads(line) for line in skipped.stdout.splitlines()]
    assert len(out) == 40 and "error" in out[33] and all("error" not in row or row["error"] is None
                                                         for i, row in enumerate(out) if i != 33)


def test_batches_read_again_after_their_file_is_closed_and_its_descriptor_reused(tmp_path: Path) -> None:
    first, second = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    first.write_bytes(rows(20))
    second.write_bytes(rows(20, 1000))
    batches = read_file(first, 8)  # closed: the next file opened may get its descriptor number
    with open(second, "rb"):
        assert [b.fallback().records for b in batches if b.fallback] == [  # type: ignore[misc]
            b.records for b in ndjson.read(io.BytesIO(rows(20)), source="a", batch_size=8)
        ]
