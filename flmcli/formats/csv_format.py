"""CSV (and TSV, with a tab delimiter): a header row, then one row per record."""

from __future__ import annotations

import csv
import io
import sys
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from flmcli.batch import Batch
from flmcli.errors import InputError
from flmcli.formats import csv_live, csv_types
from flmcli.formats.chunks import ChunkSource
from flmcli.formats.columnar import encode_tables, rebatch
from flmcli.formats.csv_errors import (
    NOT_TEXT,
    NOT_TEXT_HINT,
    check_text,
    header_names,
    quiet_undecodable_rows,
    read_error,
)
from flmcli.formats.records import write_chunks
from flmcli.formats.registry import AsText, KeepInput

if TYPE_CHECKING:
    import pyarrow as pa

    from flmcli.batch import Scored

# The first read: the header and the rows the column types are inferred from (then fixed), and the longest row.
BLOCK_SIZE = 1 << 22
# Later reads are shorter: pyarrow's streaming reader reads ahead in a background thread, a fixed 32 reads
# (Arrow's default queue, not an option), so 4 MiB reads kept up to 128 MiB of a big file waiting in memory
# (peak RSS grew 1.8x from 100k to 10M rows; bench/bench_csv_rss.py). 1 MiB: at most 32 MiB waits, and the
# reads are few enough (each takes the GIL on Arrow's thread, against the model's) to keep the reader ahead:
# 256 KiB reads took 8.8 s for 10M churn rows against 7.4 s, for 23 MiB less peak RSS. 4 MiB reads were no faster
# end to end either (1M churn rows net of start-up, 8 interleaved rounds: 0.82 vs 0.73 s; 2 or 4 MiB: same reader CPU).
READ_SIZE = 1 << 20
# Reads Arrow's thread makes ahead of the blocks taken. Its queue holds 32 (fixed), refilled 16 at a time: up to
# 32 MiB of text waiting, ~10% of flm's peak heap (28 of 258 MB at 1M churn rows, memray). A few keep the parser fed.
READS_AHEAD = 4
# How often a held-back read looks whether the interpreter is exiting (then it must not keep Arrow's thread).
_POLL = 0.1
# The longest a read is held back while the reader waits for a block and takes none.
_STALL = 0.5
# What the reader reads ahead while the model that says which columns are text loads (Arrow tables' bytes; the
# text read meanwhile is kept too, to be read again should a column be text after all). Not more than the job's
# own read-ahead while loading (job.READ_AHEAD_WHILE_LOADING), so peak memory does not grow with the input.
# Reading less or more meanwhile did not make a 1M-row run shorter net of start-up (medians of 5-8 interleaved
# rounds, 4 runs: one batch 0.73-0.84 s, 32 MiB 0.69-0.79; 160 MiB, the whole file, 0.81-0.84 in one): the model's
# load takes 0.13-0.23 s longer beside the parsing (bench/bench_columnar.py --only timeline), near what it saves.
SPECULATE = 16 << 20
# The inputs pyarrow's CSV reader may still read from its own thread, calling back into Python: its read-ahead
# goes on after the reader failed or was left (a bad row, a row longer than a block), and a process finalizing
# meanwhile aborted ("Fatal Python error: PyGILState_Release", exit 134). An input leaves when it is freed, not
# when read to its end: after a bad row, the error's traceback holds the reader (and pyarrow's file holding the
# input) until the interpreter frees it while finalizing, which then ended in "terminate called without an active
# exception" (SIGABRT) in ~1 of 100 runs under load (tests/formats/test_csv_undecodable_rows.py; 0 in 480 since).
# While one is here, the process leaves without finalizing (cli._exit).
READING: weakref.WeakSet[_ShortReads] = weakref.WeakSet()


def read(
    fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None, delimiter: str = ",",
    as_text: AsText | None = None,
) -> Iterator[Batch]:
    """`as_text(header)`: the header's columns to read as text, whatever their values look like; called once,
    before the first row is converted. When it may wait (for the model to be loaded), `as_text.known()` says
    whether it would, and the reader reads on meanwhile (up to SPECULATE bytes of tables), as if no column were
    to be read as text: it reads again from the start only if one was not."""
    import pyarrow as pa

    chunks = ChunkSource(fp)
    if max_delay is not None and chunks.live:
        yield from csv_live.read(chunks, source=source, batch_size=batch_size, max_delay=max_delay, delimiter=delimiter,
                                 as_text=as_text)
        return
    head = _peek(fp)
    empty = not head.strip()
    if b"\x00" in head:
        raise InputError(NOT_TEXT, source=source, line=head.count(b"\n", 0, head.index(b"\x00")) + 1,
                         hint=NOT_TEXT_HINT)
    if head[:1].isspace():
        fp = after_blank = _AfterBlankLines(fp)  # type: ignore[assignment]
        empty = not after_blank.rest
    quiet_undecodable_rows()
    reads = _ShortReads(fp)
    first = _first_block_schema(reads, delimiter)
    if first is not None:
        header_names(first, source)
    reads.end_last_line()
    types = _types(first) if first is not None else None
    known = getattr(as_text, "known", None)
    if as_text is None or (first is not None and (known is None or known())):
        if as_text is not None and first is not None:
            types = (types or {}) | dict.fromkeys(as_text(first.names), pa.string())
        yield from _scan(reads, types, source=source, batch_size=batch_size, delimiter=delimiter, empty=empty)
        return
    # Which columns are text is not known yet (the model is loading), or the input is one block, whose column types
    # the reader infers as it opens: read on meanwhile with the types inferred, keeping what was read, and read
    # again from the start with its text columns only if one of them was not read as text.
    reads.record()
    opened: list[pa.Schema] = []
    batches = _scan(reads, types, source=source, batch_size=batch_size, delimiter=delimiter, empty=empty,
                    opened=opened.append)
    held: list[Batch] = []
    failure: InputError | None = None
    size = 0
    try:
        while not held or (size < SPECULATE and known is not None and not known()):
            batch = next(batches, None)
            if batch is None:
                break
            held.append(batch)
            size += batch.table.nbytes if batch.table is not None else 0
            del batch  # held in `held` alone, which lets each go once handed on
    except InputError as error:  # a value that may be no error once its column is read as text
        failure = error
    schema = opened[0] if opened else None
    names = [] if schema is None else header_names(schema, source)
    text = {} if schema is None else {name: pa.string() for name in as_text(names)  # waits for the model
                                      if name in names and not _all_text(schema, name)}
    if not text:
        reads.forget()  # read as the model wants it: go on
    else:
        batches.close()
        recorded = reads.detach()
        if reads.cut:
            # Read again from the start, a file cut meanwhile gave its first rows alone and exit 0, or none ("the
            # header is longer than the reader's block").
            raise InputError("changed while it was read (it is now shorter than what was read)", source=source)
        left_over, odd = reads.left_over, reads.odd
        reads = _ShortReads(fp)
        reads.replay(*recorded)
        reads.go_on(left_over, odd)
        held, failure = [], None
        batches = _scan(reads, (types or {}) | text, source=source, batch_size=batch_size, delimiter=delimiter,
                        empty=empty)
    held.reverse()
    while held:
        yield held.pop()  # not kept here once handed on: the consumer may be done with it before the next
    if failure is not None:
        raise failure
    yield from batches


def _all_text(schema: pa.Schema, name: str) -> bool:
    """Whether every column of this name (a header may name two alike) was read as text."""
    import pyarrow as pa

    return all(pa.types.is_string(schema.field(i).type) for i in schema.get_all_field_indices(name))


def _scan(
    reads: _ShortReads, types: dict[str, pa.DataType] | None, *, source: str, batch_size: int, delimiter: str,
    empty: bool, opened: Callable[[pa.Schema], None] | None = None,
) -> Generator[Batch, None, None]:
    """The batches pyarrow's streaming reader reads from `reads` with these column `types`; `opened` is given the
    reader's schema (its columns' types) once it is open.

    A block holding a value its column's type cannot take (`42.5` or `abc` where the first rows held whole numbers,
    any value in a column empty so far) is read again by a new reader, from that block on, with the columns widened
    to what the block holds (csv_types): the rows before it are handed on as they were, none twice, none lost."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    invalid: list[tuple[int, str]] = []  # (data row number, reason) of rows pyarrow could not split

    def on_invalid_after(start: int | None) -> Callable[[Any], str]:
        """The invalid-row handler of a reader whose first row is data row `start` + 1 (None: it reads the header)."""

        def on_invalid(row: Any) -> str:
            if row.number is None:  # known unless pyarrow parses in threads, which use_threads=False rules out
                return "error"
            # With a header, row.number counts it as row 1: it is the data row's line (a quoted field spanning lines
            # shifts it). Without (a reader reading again), row 1 is its first.
            number = row.number - 1 if start is None else start + row.number
            invalid.append((number, f"expected {row.expected_columns} fields, got {row.actual_columns}"))
            return "skip"

        return on_invalid

    def open_reader(reads: _ShortReads, types: dict[str, pa.DataType] | None, start: int | None,
                    names: list[str] | None = None) -> Any:
        # Arrow's own threads stay off: besides leaving short rows unnumbered, parsing in them beside the model took
        # longer on 2 cores (1M churn rows net of start-up, 5 interleaved rounds: 0.97 vs 0.72-0.79 s, 1.09 vs 1.00-1.07 CPU-s).
        # Converting only the columns the model reads (ConvertOptions.include_columns, an upper bound tried with
        # the rest left null from the first block on) saved 0.03 CPU-s of the reader's 0.42 per 1M rows and nothing
        # measurable end to end (bench_columnar --only csv, alternated: 0.51x/0.63x against 0.64x/0.70x as is).
        return pacsv.open_csv(
            reads,
            read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=False, column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid_after(start)),
            convert_options=pacsv.ConvertOptions(column_types=types) if types else None,
        )

    reads.keep_reads()
    try:
        reader = open_reader(reads, types, None)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            if empty:
                return
            raise InputError(f"line 1: the header is longer than the CSV reader's block of {BLOCK_SIZE >> 20} MiB",
                             source=source) from None
        raise read_error(exc, source, 0, None) from None
    if opened is not None:
        opened(reader.schema)
    start: int | None = None  # the data rows before the reader's first (None: the first reader, after the header)
    rows_read = 0
    bad_rows: dict[int, str] = {}  # data row number -> reason, for the stand-in rows placed so far
    restarted = False  # a reader took over from the one before (blocks)

    def place(block: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        """The block with a stand-in row wherever pyarrow skipped a row, so every later row keeps its number."""
        nonlocal rows_read
        offset = 0
        invalid.sort()
        while invalid and invalid[0][0] <= rows_read + 1 + (block.num_rows - offset):
            number, reason = invalid.pop(0)
            take = max(0, number - rows_read - 1)
            # The counts move before each yield: the consumer may hand on a batch before resuming us.
            if take:
                offset += take
                rows_read += take
                yield block.slice(offset - take, take)
            rows_read += 1
            bad_rows[rows_read] = reason
            yield _stand_in(block, reader.schema)
        if offset < block.num_rows:
            rows_read += block.num_rows - offset
            yield block.slice(offset)

    def again(failure: pa.ArrowInvalid) -> tuple[_ShortReads, Any, int] | None:
        """A new reader of the block `failure` stopped the reader at and the rest, with its columns widened, and
        the data rows before that block; None when `failure` is not a value out of its column's type, or the block
        cannot be found among the reads kept (then the error stands, as it did)."""
        failed = csv_types.clash(failure)
        schema = reader.schema
        try:
            names = list(schema.names)
        except UnicodeDecodeError:
            return None
        if failed is None or len(set(names)) < len(names):
            return None
        row = failed.row - 1 if start is None else start + failed.row  # the data row of the value
        now = dict(zip(names, schema.types))
        local: csv_types.Clash | None = None
        for index, data in reads.kept():  # the failed block's read is the first that fails as it did
            if start is None and index == 0:
                continue  # the header's read, the first block: its types are inferred from it
            try:
                csv_types.parse(data, delimiter=delimiter, names=names, types=now)
            except pa.ArrowInvalid as exc:
                local = csv_types.clash(exc)
                if local is not None:
                    break
        if local is None or local.column != failed.column or local.value != failed.value:
            return None
        before = row - local.row
        # Every row before the block was handed on, or is a short row waiting for its place.
        if before < rows_read or sorted(n for n, _ in invalid if n <= before) != list(range(rows_read + 1, before + 1)):
            return None
        wider, clashed = schema, failed
        for _ in range(3 * len(names)):  # each turn widens a column: null, int64, double, string at most
            widened = csv_types.widened(data, wider, clashed, delimiter=delimiter, names=names)
            if widened is None:
                return None
            wider = widened
            try:
                csv_types.parse(data, delimiter=delimiter, names=names, types=dict(zip(names, wider.types)))
                break
            except pa.ArrowInvalid as exc:
                if (clash := csv_types.clash(exc)) is None:
                    break  # not a type (text that is not UTF-8): the reader names it
                clashed = clash
        invalid[:] = [entry for entry in invalid if entry[0] <= before]  # the block's are read again
        taking_over = reads.again(index)
        try:
            return taking_over, open_reader(taking_over, dict(zip(names, wider.types)), before, names), before
        except pa.ArrowInvalid as exc:
            raise read_error(exc, source, before, wider, BLOCK_SIZE, line_offset=before + 1) from None

    def blocks() -> Iterator[pa.RecordBatch]:
        """The reader's blocks, until its end or until a new reader takes over (`restarted`)."""
        nonlocal reads, reader, start, restarted
        made = 0
        while True:
            failure: pa.ArrowInvalid | None = None
            reads.waiting(True)
            try:
                block = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                failure = exc
            finally:
                reads.waiting(False)
            if failure is not None:
                taking_over = again(failure)
                if taking_over is None:
                    raise read_error(failure, source, rows_read, reader.schema, BLOCK_SIZE,
                                     line_offset=0 if start is None else start + 1) from None
                del failure
                yield from place(_stand_in(None, reader.schema).slice(0, 0))  # the short rows before the block
                reads, reader, start = taking_over
                restarted = True
                return
            made += 1
            reads.taken(made)
            yield from place(block)
        yield from place(_stand_in(None, reader.schema).slice(0, 0))  # short rows after the last good one

    shift = 0  # line ends quoted in the values of the rows so far: each moves the rows after it a line down
    handed = 0  # rows handed on, by the readers before this one
    try:
        schema = None if empty else reader.schema
        while True:
            restarted = False
            # The tables of each reader apart: one reader's columns may be typed wider than the one's before.
            for table, first_row in rebatch(blocks(), batch_size, schema):
                first_row += handed
                bad = {row - first_row: bad_rows.pop(row) for row in sorted(bad_rows)
                       if row < first_row + table.num_rows}
                # The header is line 1, so data row i is line i + 1, lower by the line ends quoted in the rows before.
                begin = first_row + 1 + shift
                lines: Sequence[int] = range(begin, begin + table.num_rows)
                if reads.quoted:
                    lines, shift = _quoted_lines(table, begin, bad, lines, shift)
                check_text(table, source, lines, bad, nul=reads.nul)
                batch = Batch(source=source, table=table, lines=lines, first_row=first_row, bad=bad or None)
                # Not held here while the batch waits: its table is copied into one chunk per column (features
                # .prepare) meanwhile, and this one kept the blocks of the copy's original alive beside it.
                del table
                yield batch
            if not restarted:
                break
            handed, schema = rows_read, None
    finally:
        reads.stop()  # Arrow's thread may be holding a read back: it must not wait for a reader that is gone


def _quoted_lines(table: pa.Table, start: int, bad: dict[int, str], lines: Sequence[int],
                  shift: int) -> tuple[Sequence[int], int]:
    """The line of each row of `table` (the first at `start` unless moved), and the shift of the rows after it, when
    values hold line ends (only a quoted value can): an error named the line a row would be on without them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        columns = table.columns
    except UnicodeDecodeError:
        # A column name that is not UTF-8 (pyarrow decodes names to hand columns out): check_text names the header,
        # at line 1, whose quote sent the rows here; it was "unexpected UnicodeDecodeError" (a 500 when served).
        return lines, shift
    ends = None
    for column in columns:
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        # Most columns hold no line end at all: their values' bytes, searched whole (memchr), say so at ~1/40 the
        # cost of counting value by value (~4 ms per 64k-row column).
        if not any(_line_end_in(chunk.buffers()[2]) for chunk in column.chunks):
            continue
        counts = pc.count_substring_regex(column, r"\r\n|\r|\n").fill_null(0).to_numpy()
        if counts.any():
            ends = counts.astype(np.int64) if ends is None else ends + counts
    if ends is None:
        return lines, shift
    for index in bad:  # a stand-in row's values are another row's
        ends[index] = 0
    if not ends.any():
        return lines, shift
    before = np.cumsum(ends) - ends
    return (np.arange(start, start + len(ends)) + before).tolist(), shift + int(ends.sum())


def _line_end_in(data: pa.Buffer | None) -> bool:
    if data is None:
        return False
    raw = data.to_pybytes()
    return b"\n" in raw or b"\r" in raw


def _first_block_schema(reads: _ShortReads, delimiter: str) -> pa.Schema | None:
    """The columns and types pyarrow's streaming reader would infer from its first block, inferred here by pyarrow
    from the same two first reads (the second tells it the first block is not the last: a row cut by the block's
    end is then left out, as the reader leaves it out), so that the reader can be given them (`_types`). None
    for an input of one block (nothing to gain: the reader's own schema is there at once), or one whose first
    block does not parse here: the reader then infers, and reports, as it did."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    first = reads.read(BLOCK_SIZE)
    second = reads.read(BLOCK_SIZE) if reads.first_full else b""
    reads.replay(first, second)
    if not second:
        return None
    # The first read ends at a row end (_ShortReads): it is the reader's first block. One that holds none (a row
    # as long as the block) is cut by pyarrow's chunker, which the second read tells it is not the end.
    whole = first[-1:] in (b"\n", b"\r")
    try:
        return pacsv.open_csv(
            io.BytesIO(first if whole else first + second),
            read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=lambda row: "skip"),
        ).schema
    except (pa.ArrowException, ValueError):
        return None


def _types(schema: pa.Schema) -> dict[str, pa.DataType] | None:
    """The first block's column types, given to the reader: it converts a typed column at ~0.65x the CPU of one it
    inferred itself (bench/bench_columnar.py --only csv). A column of no value yet (null) is left to the reader."""
    import pyarrow as pa

    if len(set(schema.names)) < len(schema.names):  # column_types is keyed by name: two of one name would share one
        return None
    return {field.name: field.type for field in schema if not pa.types.is_null(field.type)}


# Reads made here rather than by Arrow from the file itself (pyarrow.OSFile: C++ reads, no GIL, no copies in Python)
# cost little: Arrow reading a named file natively, an upper bound without what these reads give (a block read again
# on type drift, bounded read-ahead, NUL and quote flags), took 1.12 vs 1.20, 1.17 vs 1.20 and 1.19 vs 1.21 CPU-s net
# of start-up per 1M churn rows (three runs of 6-10 interleaved rounds, load 4-7; wall too noisy to tell) for 35 MiB
# more peak RSS (Arrow's 32 reads ahead; bench/bench_columnar.py --only nativereads). These reads themselves take
# 34 ms of CPU per 1M churn rows against 12 for plain 1 MiB reads of the file.
class _ShortReads:
    """`fp` as pyarrow's CSV reader sees it: the first read whole (it holds the header and the rows the types are
    inferred from), later ones READ_SIZE bytes, which bounds what the reader's thread queues ahead.

    A row that starts in one read must end in the next (pyarrow's chunker finds its end at the next line end),
    so a read without a line end goes on up to the reader's block size: rows are limited as before, by it."""

    mode = "rb"

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        self._first = True
        self._replayed: list[bytes] = []
        self._padded = False  # end_last_line added a line end to the replays, which fp does not hold
        self._made = 0  # reads made after the first (replays aside)
        self._taken = 0  # blocks the reader has taken
        self._wanted = True  # the reader waits for a block (or has not started)
        self._stopped = False
        self._moved = threading.Condition()
        self.stalls = 0  # reads let go because the reader seemed to wait for them: none, with reads as made here
        self._recorded: list[bytes] | None = None  # every read since record(), to be read again
        self._start: int | None = None  # or, when fp can seek, where record() found it (before the replays)
        self._detached = False
        self.cut = False  # detach found the file shorter than what was read of it
        self.quoted = False  # a read held a quote: a value may hold line ends (see _quoted_lines)
        self._reading = threading.Lock()  # one read of fp at a time, kept whole in _recorded
        # Whether any read handed to the reader held a NUL byte. Until one does, no value of the rows read holds
        # one, and check_text need not search each string value for it (pyarrow's match_substring: 0.05-0.07
        # CPU-s per 1M churn rows, a fifth of the reader thread's CPU beside the parsing; `in` on the reads: ~0.005).
        self.nul = False
        # Bytes read from fp past the last row end handed on: the start of the next read. Every read ends at a row's
        # end (outside quotes), so each is one block of the reader's, which a block that fails can be read again from.
        self._carry = b""
        self._odd = False  # the bytes handed on so far hold an odd number of quotes (parity, for the next row end)
        self.first_full = False  # the first read of fp was as long as asked: more may follow
        # The reads handed on that the reader may not have made a block of yet (see again), from the `_ring_base`th.
        self._ring: list[bytes] | None = None
        self._ring_base = 0
        self._next: _ShortReads | None = None  # the input that took over when a block was read again (see again)
        self.left_over = b""  # what detach read of fp past the reads it gave: the start of the next read
        READING.add(self)

    @property
    def fp(self) -> BinaryIO:
        return self._fp

    def record(self) -> None:
        """Keep what is read from now on (the reads to replay first, too) for `detach`: where it starts, when fp can
        seek back there (a file), else the reads themselves."""
        with self._reading:
            seekable = getattr(self._fp, "seekable", None)
            # Not when end_last_line added a line end: the input read again would be without it.
            if seekable is not None and seekable() and not self._padded:
                self._start = self._fp.tell() - sum(map(len, self._replayed)) - len(self._carry)
            else:
                self._recorded = list(self._replayed)

    def forget(self) -> None:
        """Keep nothing more: the reads are wanted as they were."""
        latest = self._latest()
        with latest._reading:
            latest._recorded = latest._start = None

    def detach(self) -> list[bytes]:
        """Everything read since record(), in order (or none, fp being back where record() found it): its reader
        reads nothing more (an end of input), so these bytes and the rest of fp can go to another (the bytes
        read past them, `left_over`, first)."""
        latest = self._latest()
        latest.stop()  # a read held back goes now, and is kept with the others
        with latest._reading:
            latest._detached = True
            if latest._start is not None:
                read_to = latest._fp.tell()
                latest._fp.seek(latest._start)
                self.cut = _size(latest._fp) < read_to
                self.left_over = b""
            else:
                self.left_over = latest._carry
            recorded, latest._recorded, latest._start = latest._recorded or [], None, None
        return recorded

    def _latest(self) -> _ShortReads:
        reads = self
        while reads._next is not None:
            reads = reads._next
        return reads

    @property
    def odd(self) -> bool:
        """The bytes handed on (by the latest input, see again) hold an odd number of quotes."""
        return self._latest()._odd

    def go_on(self, carry: bytes, odd: bool) -> None:
        """Read on from where another input stopped: its replays given (replay), it had read `carry` past them, and
        they hold an odd number of quotes when `odd`. Any read is then past the first."""
        if carry or self._replayed:
            self._first = False
        self._carry, self._odd = carry, odd

    def keep_reads(self) -> None:
        """Keep each read handed on from now on until its block is taken (`taken`), to be read `again`."""
        self._ring, self._ring_base = [], 0

    def taken(self, blocks: int) -> None:
        """The reader made `blocks` blocks: each from a read of its own (one read, one block), and none from a
        read before the one it has made the latest block from."""
        # Not under _reading, which a read of a slow input holds: only Arrow's thread appends, only this one drops.
        ring = self._ring
        if ring is not None and blocks > self._ring_base:
            del ring[:blocks - self._ring_base]
            self._ring_base = blocks

    def kept(self) -> list[tuple[int, bytes]]:
        """The reads kept (see keep_reads), with their place among those handed on."""
        return list(enumerate(list(self._ring or []), self._ring_base))

    def again(self, index: int) -> _ShortReads:
        """A new input for a new reader: the reads handed on from the `index`th on (kept), then what this one did
        not hand on yet. This one reads nothing more; what it recorded goes on in the new one."""
        self.stop()
        with self._reading:
            self._detached = True
            new = _ShortReads(self._fp)
            new._first = False
            new._replayed = (self._ring or [])[index - self._ring_base:] + self._replayed
            new._carry, new._odd, new.quoted, new.nul = self._carry, self._odd, self.quoted, self.nul
            new._padded, new._recorded, new._start = self._padded, self._recorded, self._start
            new._ring = []
            self._recorded = self._start = None
            self._next = new
        return new

    def waiting(self, wanted: bool) -> None:
        """The reader starts (True) or stops (False) waiting for its next block."""
        with self._moved:
            self._wanted = wanted
            if not wanted:
                self._taken += 1
            self._moved.notify_all()

    def stop(self) -> None:
        with self._moved:
            self._stopped = True
            self._moved.notify_all()

    def _hold_back(self) -> None:
        """Wait while READS_AHEAD reads are made that no block was taken for. Each later read yields a block (it
        ends at a line end), so the reader never needs more than the next one or two to make its block; should it
        ever wait _STALL on a read held back here with no block taken, the read goes (counted in `stalls`)."""
        with self._moved:
            taken, since = self._taken, time.monotonic()
            while not (self._stopped or self._made - self._taken < READS_AHEAD or sys.is_finalizing()):
                now = time.monotonic()
                if self._taken != taken or not self._wanted:
                    taken, since = self._taken, now
                elif now - since >= _STALL:
                    self.stalls += 1
                    break
                self._moved.wait(_POLL)
            self._made += 1

    def replay(self, *reads: bytes) -> None:
        """Give these reads again, first, to the next reader."""
        self._replayed = [read for read in reads if read]
        self.quoted = self.quoted or any(b'"' in read for read in self._replayed)

    @property
    def replayed(self) -> list[bytes]:
        return list(self._replayed)

    def end_last_line(self) -> None:
        """The whole input, replayed as one read shorter than a block, gets its last line's end if it has none:
        pyarrow takes no header from a block without one (a header alone was refused as "longer than the
        reader's block")."""
        if len(self._replayed) == 1 and len(self._replayed[0]) < BLOCK_SIZE and self._replayed[0][-1:] not in (
                b"\n", b"\r"):
            self._replayed[0] += b"\n"
            self._padded = True

    @property
    def closed(self) -> bool:
        return self._fp.closed

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self._replayed and not self._first and size >= 0:
            self._hold_back()  # not holding _reading: forget() and detach() must not wait for a held read
        with self._reading:
            if self._detached:
                return b""
            if self._replayed:
                read = self._replayed.pop(0)
                if 0 <= size < len(read):
                    self._replayed.insert(0, read[size:])
                    read = read[:size]
            else:
                first, self._first = self._first, False
                read = self._read_fp(size, first)
                if not self.quoted and b'"' in read:
                    self.quoted = True
                if self._recorded is not None:
                    self._recorded.append(read)
            if self._ring is not None and read:
                self._ring.append(read)
        if not self.nul and b"\0" in read:
            self.nul = True  # before the reader has the read: any row made from it is searched
        return read

    def _read_fp(self, size: int, first: bool) -> bytes:
        """The next read: up to READ_SIZE bytes (the first: `size`), ending at the end of the last whole row in them
        (the rest is kept for the next). A read holding no row end goes on, up to `size`: a row that starts in one
        read must end in the next (pyarrow's chunker finds its end at the next line end), so rows are limited as
        before, by the reader's block. At the end of the input (and a first read shorter than asked, which is all
        of it), all that is left."""
        data, self._carry = self._carry, b""
        if size < 0:
            return data + self._fp.read()
        step = size if first else min(READ_SIZE, size)
        while True:
            more = self._fp.read(max(0, min(step, size - len(data))))
            if first:
                self.first_full = len(more) == size
                if not self.first_full:
                    return data + more
            elif not more:
                return data
            data = data + more if data else more
            end, odd = _row_end(data, self._odd)
            if not end and len(data) >= step:
                # No line end outside quotes in a whole read: a quote pyarrow takes as a character (mid-value, as in
                # 5'11"), or a quoted value longer than a read. Cut at the last line end, as pyarrow's chunker does,
                # and count quotes afresh from there (reads stay READ_SIZE long, which bounds what waits in memory).
                end, odd = _row_end(data, False, quotes=False)[0], False
            if end or len(data) >= size:
                break
        if not end or end == len(data):
            read = data
            odd = self._odd != bool(_quotes(data) % 2)
        else:
            read, self._carry = data[:end], data[end:]
        self._odd = odd
        return read


def _row_end(data: bytes, odd: bool, *, quotes: bool = True) -> tuple[int, bool]:
    """Where the last whole row of `data` ends: after its last line end outside quotes (`quotes`, the bytes before
    `data` holding an odd number of quotes when `odd`; else any line end, as pyarrow's chunker cuts), 0 for none;
    and whether the bytes up to there hold an odd number of quotes, `data` counted. A line end at the very end that
    may be the first half of \r\n is taken only when no other is there."""
    end = max(data.rfind(b"\n"), data.rfind(b"\r"))
    if end < 0:
        return 0, odd
    if not odd and b'"' not in data:
        return _not_split_crlf(data, end), odd
    total = _quotes(data)
    if not quotes:
        end = _not_split_crlf(data, end)
        return end, odd != bool((total - data.count(b'"', end)) % 2)
    after = 0  # quotes from the candidate line end on (a row's worth, mostly: counted by bytes.count)
    last = len(data)
    fallback = (0, odd)
    # Looked for in the last _QUOTED bytes only (a quarter of a short read): further back, the count is more likely
    # off (a quote taken as a character) than a quoted value that long, and a read cut there would be short (a
    # first block of a few rows).
    while end >= len(data) - min(_QUOTED, len(data) // 4):
        after += data.count(b'"', end, last)
        if (total - after + odd) % 2 == 0:
            if not (end == len(data) - 1 and data[end] == 13):
                return end + 1, False
            fallback = (end + 1, False)
        last = end
        end = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end))
    return fallback


_QUOTED = 1 << 16


def _not_split_crlf(data: bytes, end: int) -> int:
    """The row end after the line end at `end`, or the one before when it is a \r that ends `data` (its \n may
    be the next read's first byte)."""
    if end == len(data) - 1 and data[end] == 13:
        before = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end))
        return before + 1 if before >= 0 else end + 1
    return end + 1


def _quotes(data: bytes) -> int:
    """How many quotes `data` holds: numpy compares a MiB in ~0.2 ms, where bytes.count took ~2 ms."""
    if len(data) < 1 << 12:
        return data.count(b'"')
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 34))


class _AfterBlankLines:
    """`fp` from its first line that is not blank: the lines of spaces, tabs or nothing before the header are
    skipped, all of them, as pyarrow skips the empty ones itself (a line of spaces was a header of one column named
    ' ', so an input of blank lines was "missing column" from a file and no rows from a pipe: csv_live)."""

    mode = "rb"

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        self.rest = b""  # what was read past the blank lines: the header's line on
        while data := fp.read(1 << 20):
            text = data.lstrip(b" \t\r\n")
            if text:
                blank = len(data) - len(text)
                self.rest = data[max(data.rfind(b"\n", 0, blank), data.rfind(b"\r", 0, blank)) + 1:]
                break

    @property
    def closed(self) -> bool:
        return self._fp.closed

    def read(self, size: int = -1) -> bytes:
        if not self.rest:
            return self._fp.read(size)
        if size < 0:
            data, self.rest = self.rest + self._fp.read(), b""
            return data
        data, self.rest = self.rest[:size], self.rest[size:]
        return data + self._fp.read(size - len(data)) if len(data) < size else data


def _size(fp: BinaryIO) -> int:
    """The size of the file under `fp` now (as large as can be when it is not known)."""
    import os

    try:
        return os.fstat(fp.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return sys.maxsize


def _stand_in(block: pa.RecordBatch | None, schema: pa.Schema) -> pa.RecordBatch:
    """A row that holds a bad row's place: a copy of a good one keeps every column's type (nulls would turn
    integer columns into floats for the good rows of the batch); it is never scored."""
    import pyarrow as pa

    if block is not None and block.num_rows:
        return block.slice(0, 1)
    return pa.RecordBatch.from_arrays([pa.nulls(1, field.type) for field in schema], schema=schema)


def _peek(fp: BinaryIO) -> bytes:
    """The first bytes without consuming them (b"x" when that cannot be done: then the input is not empty)."""
    peek = getattr(fp, "peek", None)
    if peek is not None:
        return bytes(peek(1 << 16))
    if fp.seekable():
        start = fp.tell()
        head = fp.read(1 << 16)
        fp.seek(start)
        return head
    return b"x"


def header(schema: pa.Schema, delimiter: str) -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\n").writerow(schema.names)
    return text.getvalue().encode()


def encode(
    scored: Iterable[Scored], *, keep_input: KeepInput = False, delimiter: str = ","
) -> Iterator[bytes]:
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, delimiter=delimiter, quoting_style="needed")

    def open_writer(sink: io.BytesIO, schema: pa.Schema) -> Any:
        return pacsv.CSVWriter(sink, schema, write_options=options)

    return encode_tables(scored, keep_input, open_writer, lambda w, t: w.write_table(t),
                         preamble=lambda schema: header(schema, delimiter), typed=False,
                         direct=lambda item: whole_numbers(item, delimiter))


def whole_numbers(scored: Scored, delimiter: str = ",") -> tuple[pa.Schema, bytes] | None:
    """The CSV rows of a batch whose one output is an integer (or a boolean) and is all that is written (no error
    column, no row dropped), made by orjson from the output's column in one call: the bytes pyarrow's CSVWriter
    writes for it (a number needs no quotes), at ~0.13x its CPU (0.24 vs 1.9 ms per 64k-row batch: ~0.025 s of the
    main thread per 1M churn rows, ~3% of a CSV run net of start-up). Not for several columns: orjson on a 2-D
    array and splitting its rows took 4 ms a batch, twice pyarrow's time. None for anything else."""
    import numpy as np
    import orjson
    import pyarrow as pa

    array = scored.array
    if (array is None or array.ndim != 2 or array.shape[1] != 1 or not len(array) or array.dtype.kind not in "biu"
            or scored.errors is not None or scored.keep is not None or len(scored.outputs.columns) != 1):
        return None
    try:
        # [1,0,1]: no value's text holds a comma, so each comma ends a row
        text = orjson.dumps(np.ascontiguousarray(array[:, 0]), option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError:  # a dtype orjson does not take (byte order): pyarrow writes it
        return None
    schema = pa.schema([pa.field(str(scored.outputs.columns[0]), pa.from_numpy_dtype(array.dtype))])
    return schema, text[1:-1].translate(_ROW_ENDS) + b"\n"


_ROW_ENDS = bytes.maketrans(b",", b"\n")


def write(scored: Iterable[Scored], out: BinaryIO, *, keep_input: KeepInput = False) -> int:
    return write_chunks(encode, scored, out, keep_input=keep_input)
