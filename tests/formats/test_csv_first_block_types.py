"""A CSV file longer than the reader's first block is read with the column types inferred from that block,
given to pyarrow's reader rather than inferred by it (it converts typed columns faster). It must read exactly
as the reader inferring them itself: the same tables batch for batch, the same error for a bad value, whatever
sits at the block's edge (a type change in its last row, a quoted line end across it, \\r line ends, short rows,
a column with no value in the block)."""

from __future__ import annotations

import bisect
import io
import itertools
import math
import random

import pyarrow as pa
import pytest

from flmcli.errors import InputError
from flmcli.formats import csv_format

BLOCK = csv_format.BLOCK_SIZE


def read_all(data: bytes, *, inferred_by_reader: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[pa.Table], str]:
    """Every batch the reader yields and its error, if any; with the types given, or left to pyarrow."""
    with monkeypatch.context() as patch:
        if inferred_by_reader:
            patch.setattr(csv_format, "_first_block_schema", lambda reads, delimiter: None)
        tables: list[pa.Table] = []
        try:
            for batch in csv_format.read(io.BytesIO(data), source="rows.csv", batch_size=65536):
                assert batch.table is not None
                tables.append(batch.table)
        except InputError as error:
            return tables, str(error)
        return tables, ""


def same_either_way(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[list[pa.Table], str]:
    given, given_error = read_all(data, inferred_by_reader=False, monkeypatch=monkeypatch)
    inferred, inferred_error = read_all(data, inferred_by_reader=True, monkeypatch=monkeypatch)
    assert given_error == inferred_error
    assert [t.schema for t in given] == [t.schema for t in inferred]
    assert len(given) == len(inferred) and all(a.equals(b) for a, b in zip(given, inferred, strict=True))
    return given, given_error


def types_of(data: bytes) -> dict[str, pa.DataType] | None:
    schema = csv_format._first_block_schema(csv_format._ShortReads(io.BytesIO(data)), ",")
    return csv_format._types(schema) if schema is not None else None


def rows_until(line: bytes, size: int) -> int:
    return size // len(line) + 1


def test_types_are_given_to_the_reader_for_a_file_past_the_first_block(monkeypatch: pytest.MonkeyPatch) -> None:
    line = b"1,2.5,abc,true\n"
    data = b"a,b,c,d\n" + line * rows_until(line, 2 * BLOCK)
    assert types_of(data) == {
        "a": pa.int64(), "b": pa.float64(), "c": pa.string(), "d": pa.bool_()}
    tables, error = same_either_way(data, monkeypatch)
    assert not error and sum(t.num_rows for t in tables) == rows_until(line, 2 * BLOCK)


def edge(last: bytes, after: bytes, line: bytes) -> bytes:
    """Rows of `line` up to just before the first block's end, then `last` as the block's last whole row (it
    ends inside the block), then `after` rows past it."""
    head = b"a,b,c\n"
    count = (BLOCK - len(head) - len(last)) // len(line)
    data = head + line * count + last
    assert BLOCK - len(line) < len(data) <= BLOCK and len(after.splitlines()[0]) + 1 > BLOCK - len(data)
    return data + after


@pytest.mark.parametrize(
    ("last", "after", "expect_error"),
    [
        (b"1,2,xyz\n", b"3,4,5\n" * 100_000, False),  # a string in the block's last row: c is text both ways
        (b"1,2.5,3\n", b"3,4,5\n" * 100_000, False),  # a float in the last row: b is float both ways
        # Past the block: its block read again, the column widened (csv_types), either way
        (b"1,2,3\n", b"3,4,oops\n" * 10 + b"3,4,5\n" * 100_000, False),
        (b"1,2,3\n", b"3,4.5,5\n" + b"3,4,5\n" * 100_000, False),  # an int column meeting a float later
        (b'1,2,"x\n', b'yyyyyy"\n' + b"3,4,5\n" * 100_000, False),  # quoted across the edge: typed without it
        (b"1,2\n", b"3,4,5\n" * 100_000, False),  # a short row as the last one
        (b"1,2,3\r", b"3,4,5\r" * 100_000, False),  # \r line ends
    ],
)
def test_the_block_edge_reads_as_the_reader_would(
    monkeypatch: pytest.MonkeyPatch, last: bytes, after: bytes, expect_error: bool
) -> None:
    data = edge(last, after, b"1,2,3\n")
    _, error = same_either_way(data, monkeypatch)
    assert bool(error) == expect_error, error


def test_a_column_empty_in_the_first_block_is_left_to_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    line = b"1,,3\n"
    data = b"a,b,c\n" + line * rows_until(line, BLOCK) + b"4,5,6\n" * 50_000
    types = types_of(data)
    assert types is not None and "b" not in types and types["a"] == pa.int64()
    tables, error = same_either_way(data, monkeypatch)
    # pyarrow typed b null from the first block, as before; its first value's block is read again with b typed
    assert not error and pa.types.is_integer(tables[-1].column("b").type)
    assert sum(t.num_rows for t in tables) == rows_until(line, BLOCK) + 50_000


@pytest.mark.parametrize("size", [0, 100, BLOCK - 1, BLOCK])
def test_an_input_of_one_block_is_left_to_the_reader_and_replayed_whole(size: int) -> None:
    data = (b"a,b\n" + b"1,2\n" * size)[:size]
    reads = csv_format._ShortReads(io.BytesIO(data))
    assert csv_format._first_block_schema(reads, ",") is None  # the reader infers from its one block anyway
    assert b"".join(iter(lambda: reads.read(BLOCK), b"")) == data


def test_the_reads_taken_for_the_types_are_given_again_in_order() -> None:
    data = bytes(range(256)) * (3 * BLOCK // 256) + b"\n"
    reads = csv_format._ShortReads(io.BytesIO(b"a\n" + data))
    csv_format._first_block_schema(reads, ",")
    # No Arrow reader takes blocks here: without stop() each read past READS_AHEAD is held back _STALL (0.5 s)
    # waiting for one, 18 s in all; the order and bytes of the reads are the same either way.
    reads.stop()
    got = [reads.read(BLOCK) for _ in range(40)]
    assert b"".join(got) == b"a\n" + data and all(len(read) <= BLOCK for read in got)


@pytest.mark.parametrize("seed", range(12))
def test_random_files_read_the_same_either_way(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Columns of ints, floats, words, booleans and empties, with odd values (a word in a number column, a
    quoted comma or line end, a short or long row, an empty field) dropped at random, many of them near the
    first block's edge. In odd seeds the first block has none of them, so that its columns are typed (an odd
    value anywhere in the block makes its column text) and the odd values past the edge meet those types."""
    rng = random.Random(seed)
    kinds = [rng.choice(["int", "float", "word", "bool", "empty"]) for _ in range(rng.randint(1, 6))]
    plain = {"int": lambda: str(rng.randint(-999, 999)), "float": lambda: f"{rng.uniform(-1e3, 1e3):.3f}",
             "word": lambda: rng.choice(["abc", "x y", '"q,uoted"']), "bool": lambda: rng.choice(["true", "false"]),
             "empty": lambda: ""}
    odd = [lambda: "oops", lambda: "1.5", lambda: "", lambda: '"line\nend"', lambda: "7"]
    header = ",".join(f"c{i}" for i in range(len(kinds))) + "\n"
    out = [header]
    size = len(header)

    def odd_row() -> str:
        fields = [plain[k]() for k in kinds]
        fields[rng.randrange(len(fields))] = rng.choice(odd)()
        if rng.random() < 0.2:
            fields = fields[:-1] if len(fields) > 1 and rng.random() < 0.5 else [*fields, "1"]
        return ",".join(fields) + "\n"

    # Far from the edge an odd row is rare (p = 0.0005): plain rows come from a pool of random ones, as many at a
    # time as a geometric draw says come before the next odd one (a file of one short column is ~2M rows; drawn
    # one by one in Python they cost 8 s, the reads compared below 0.5 s).
    pool = [",".join(plain[k]() for k in kinds) + "\n" for _ in range(2000)]

    typed_block = seed % 2 == 1

    def far_rows(until: int, odd: bool = True) -> None:
        nonlocal size
        while size < until:
            if not odd:
                rows = rng.choices(pool, k=1000)
                starts = list(itertools.accumulate(map(len, rows), initial=size))
                taken = min(bisect.bisect_left(starts, until), len(rows))
                out.extend(rows[:taken])
                size = starts[taken]
                continue
            rows = rng.choices(pool, k=int(math.log(1.0 - rng.random()) / math.log(1 - 0.0005)))
            starts = list(itertools.accumulate(map(len, rows), initial=size))
            taken = min(bisect.bisect_left(starts, until), len(rows))
            out.extend(rows[:taken])
            size = starts[taken]
            if size < until:
                line = odd_row()
                out.append(line)
                size += len(line)

    edge_at = BLOCK - rng.randint(0, 4000)
    far_rows(edge_at - 599, odd=not typed_block)
    # Near the edge, every row drawn on its own, three in ten odd (with a typed first block, only past its end).
    while size < (BLOCK if typed_block else edge_at) + 600:
        past = size > BLOCK + 100  # out of the first block, whatever row its end cuts
        line = odd_row() if (past or not typed_block) and rng.random() < 0.3 else ",".join(
            plain[k]() for k in kinds) + "\n"
        out.append(line)
        size += len(line)
    far_rows(BLOCK + 300_000)
    assert size == sum(map(len, out))  # ASCII only: characters are bytes
    data = "".join(out).encode()
    types = types_of(data)
    assert types is not None  # the types are given: the comparison below is of the two ways
    if typed_block:  # and they are those of the columns' values, not text
        expected = {"int": pa.int64(), "float": pa.float64(), "word": pa.string(), "bool": pa.bool_()}
        assert types == {f"c{i}": expected[kind] for i, kind in enumerate(kinds) if kind != "empty"}
    same_either_way(data, monkeypatch)
