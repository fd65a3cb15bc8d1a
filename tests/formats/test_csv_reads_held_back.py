"""pyarrow's CSV reader thread queues 32 reads ahead of the parser; flm holds its reads back to READS_AHEAD
ahead of the blocks taken, without ever keeping the parser waiting for one."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest

from flmcli import formats
from flmcli.formats import csv_format
from flmcli.formats.csv_format import BLOCK_SIZE, READ_SIZE

from .test_csv_reads import CountingBytes, settled


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[csv_format._ShortReads]]:
    """Every reader's reads, to look at how it went. A read is let go after 30 s rather than 0.5 s of the reader
    taking no block: on a loaded machine parsing one block can take that long, and only a reader truly waiting
    on a held read would reach 30 s (and count a stall)."""
    made: list[csv_format._ShortReads] = []
    monkeypatch.setattr(csv_format, "_STALL", 30.0)

    class Watched(csv_format._ShortReads):
        def __init__(self, fp: io.BufferedIOBase) -> None:
            super().__init__(fp)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(csv_format, "_ShortReads", Watched)
    yield made


def test_reads_wait_a_few_ahead_of_a_reader_that_does_not_take_blocks(made: list[csv_format._ShortReads]) -> None:
    data = b"id,x\n" + b"1,2\n" * (40 * (1 << 20) // 4)
    fp = CountingBytes(data)
    batches = formats.reader("csv")(fp, source="big.csv", batch_size=1000)
    assert len(next(batches)) == 1000
    ahead = settled(fp)
    # The first two blocks are read whole (the column types are inferred from them); then READ_SIZE reads, one
    # per block: READS_AHEAD (4) and one being parsed. Arrow alone would have 32 waiting.
    assert ahead <= 2 * BLOCK_SIZE + 6 * READ_SIZE, f"{ahead >> 20} MiB read for the first 1000 rows"
    assert sum(len(batch) for batch in batches) + 1000 == len(data) // 4 - 1
    assert made[0].stalls == 0


def _rows(ending: bytes, count: int) -> bytes:
    return b"".join(b'%d,"a, b",%d.5%s' % (i, i % 7, ending) for i in range(count))


# Built in the test, not at collection: ~40 MB that every xdist worker made (~0.7 s each) and kept all session.
INPUTS = {
    "lf": lambda: b"id,t,x\n" + _rows(b"\n", 600_000),
    "crlf": lambda: b"id,t,x\r\n" + _rows(b"\r\n", 600_000),
    "cr": lambda: b"id,t,x\r" + _rows(b"\r", 600_000),
    # Rows longer than a read: a read then goes on to the next line end.
    "long": lambda: b"id,t,x\n" + _rows(b"\n", 300_000) + b''.join(
        b'-%d,"%s",1.5\n' % (i, b"v" * (READ_SIZE + 3)) for i in range(12)) + _rows(b"\n", 1000),
}


@pytest.mark.parametrize("name", list(INPUTS))
def test_a_slow_reader_gets_every_row_in_order_and_never_waits_on_a_held_read(
    made: list[csv_format._ShortReads], name: str
) -> None:
    import pyarrow.csv as pacsv

    data = INPUTS[name]()

    expected = pacsv.read_csv(io.BytesIO(data), read_options=pacsv.ReadOptions(block_size=2 * BLOCK_SIZE)).to_pylist()
    held = list(formats.reader("csv")(io.BytesIO(data), source="in.csv", batch_size=20_000))
    slow: list[dict[str, object]] = []
    reader = formats.reader("csv")(io.BytesIO(data), source="in.csv", batch_size=20_000)
    for batch in reader:
        time.sleep(0.01)  # the model scoring: Arrow's thread reads on meanwhile, up to READS_AHEAD
        slow.extend(batch.table.to_pylist())
    assert slow == expected
    assert [row for batch in held for row in batch.table.to_pylist()] == expected
    assert [reads.stalls for reads in made] == [0, 0]


def test_a_one_block_input_reopened_with_text_columns_takes_its_blocks_from_its_own_reads(
    made: list[csv_format._ShortReads],
) -> None:
    data = b"code,x\n" + b"".join(b"0%04d,%d\n" % (i, i) for i in range(50_000))
    batches = list(csv_format.read(io.BytesIO(data), source="in.csv", batch_size=4096,
                                   as_text=lambda names: frozenset({"code"})))
    rows = [row for batch in batches for row in batch.table.to_pylist()]
    assert rows[:2] == [{"code": "00000", "x": 0}, {"code": "00001", "x": 1}] and len(rows) == 50_000
    first, again = made
    assert first._stopped  # its thread is not held back waiting for blocks taken from the other reads
    assert again._taken >= 1 and again.stalls == 0  # the blocks taken are counted against its reads
