"""The bulk CSV reader hands pyarrow short reads after the first block, which bounds what pyarrow's reader thread
queues ahead of the parser; rows stay limited by the block size, as before."""

from __future__ import annotations

import io
import time

import pytest

from flmcli import formats
from flmcli.formats.csv_format import BLOCK_SIZE, READ_SIZE


class CountingBytes(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.reads.append(len(data))
        return data


def settled(fp: CountingBytes) -> int:
    """Bytes read once pyarrow's reader thread has stopped reading ahead."""
    seen, still, deadline = -1, 0, time.monotonic() + 30
    while still < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
        now = fp.tell()
        still = still + 1 if now == seen else 0
        seen = now
    return seen


def test_the_reader_thread_reads_a_bounded_way_ahead_of_the_rows_handed_on() -> None:
    data = b"id,x\n" + b"1,2\n" * (40 * (1 << 20) // 4)
    fp = CountingBytes(data)
    batches = formats.reader("csv")(fp, source="big.csv", batch_size=1000)
    assert len(next(batches)) == 1000
    ahead = settled(fp)
    # Arrow's queue holds 32 reads; 4 MiB reads put 128 MiB of this file in memory before the first batch.
    assert ahead <= BLOCK_SIZE + 34 * READ_SIZE, f"{ahead >> 20} MiB read for the first 1000 rows"
    assert max(fp.reads[2:]) <= READ_SIZE
    assert sum(len(batch) for batch in batches) + 1000 == len(data) // 4 - 1  # and every row still comes


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_a_row_longer_than_a_read_but_within_the_block_is_read_after_the_first_block(ending: bytes) -> None:
    filler = b"".join(b"%d,small%s" % (i, ending) for i in range(BLOCK_SIZE // 8))  # beyond the first block
    long_value = b"v" * (3 * READ_SIZE + 17)
    data = b"id,text" + ending + filler + b"-1," + long_value + ending + b"-2,after" + ending
    batches = list(formats.reader("csv")(io.BytesIO(data), source="long.csv", batch_size=1 << 16))
    rows = [row for batch in batches for row in batch.table.to_pylist()]
    assert len(rows) == BLOCK_SIZE // 8 + 2
    assert rows[-2] == {"id": -1, "text": long_value.decode()}
    assert rows[-1] == {"id": -2, "text": "after"}
    lines = [line for batch in batches for line in batch.lines or []]
    assert lines[-2:] == [len(rows), len(rows) + 1]
