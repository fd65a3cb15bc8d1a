"""CSV reads end at a row's end outside quotes (csv_format._ShortReads), so that each is one block of pyarrow's
reader and a block can be read again (csv_types). A quoted value holding line ends across a read's edge was 'CSV
parser got out of sync with chunker'; a quote pyarrow takes as a character (5'11") must neither shorten the first
block (the types are inferred from it) nor lengthen the reads (what waits in memory)."""

from __future__ import annotations

import io

import pytest

from flmcli.formats import csv_format


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_format, "BLOCK_SIZE", 64 << 10)
    monkeypatch.setattr(csv_format, "READ_SIZE", 16 << 10)


def reads_of(data: bytes) -> list[bytes]:
    reads = csv_format._ShortReads(io.BytesIO(data))
    reads.stop()  # no reader takes blocks here: reads are not held back for one
    return list(iter(lambda: reads.read(csv_format.BLOCK_SIZE), b""))


def rows_of(data: bytes) -> list[dict[str, object]]:
    return [row for batch in csv_format.read(io.BytesIO(data), source="rows.csv", batch_size=1000)
            for row in batch.table.to_pylist()]  # type: ignore[union-attr]


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_quoted_line_ends_at_every_reads_edge(ending: str) -> None:
    lines = ["id,note,x"] + [f'{i},"line one{ending}line two{ending}",{i % 7}' for i in range(20_000)]
    data = ending.join(lines).encode() + ending.encode()
    reads = reads_of(data)
    assert b"".join(reads) == data and len(reads) > 20
    assert all(read.endswith(ending.encode()) for read in reads)
    rows = rows_of(data)
    assert [row["id"] for row in rows] == list(range(20_000))
    assert {row["note"] for row in rows} == {f"line one{ending}line two{ending}"}


def test_a_quote_taken_as_a_character_keeps_the_reads_whole() -> None:
    lines = ["id,height"] + [f"{i},5'11\"" if i == 10 else f"{i},6'0" for i in range(40_000)]
    data = ("\n".join(lines) + "\n").encode()
    reads = reads_of(data)
    assert b"".join(reads) == data
    assert len(reads[0]) > csv_format.BLOCK_SIZE - 64  # the first block: all the rows that fit, not the first ten
    assert max(len(read) for read in reads[1:]) <= csv_format.READ_SIZE + 64
    rows = rows_of(data)
    assert [row["id"] for row in rows] == list(range(40_000)) and rows[10]["height"] == "5'11\""
