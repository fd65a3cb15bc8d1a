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
from flmcli.formats import csv_live
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
# 256 KiB reads took 8.8 s for 10M churn rows against 7.4 s, for 23 MiB less peak RSS.
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
SPECULATE = 32 << 20
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
        reads = _ShortReads(fp)
        reads.replay(*recorded)
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
    reader's schema (its columns' types) once it is open."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    invalid: list[tuple[int, str]] = []  # (data row number, reason) of rows pyarrow could not split

    def on_invalid(row: Any) -> str:
        if row.number is None:  # known unless pyarrow parses in threads, which use_threads=False rules out
            return "error"
        # row.number counts the header as row 1: it is the data row's line (a quoted field spanning lines shifts it)
        invalid.append((row.number - 1, f"expected {row.expected_columns} fields, got {row.actual_columns}"))
        return "skip"

    try:
        reader = pacsv.open_csv(
            reads,
            read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types=types) if types else None,
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            if empty:
                return
            raise InputError(f"line 1: the header is longer than the CSV reader's block of {BLOCK_SIZE >> 20} MiB",
                             source=source) from None
        raise read_error(exc, source, 0, None) from None
    if opened is not None:
        opened(reader.schema)
    rows_read = 0
    bad_rows: dict[int, str] = {}  # data row number -> reason, for the stand-in rows placed so far

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

    def blocks() -> Iterator[pa.RecordBatch]:
        while True:
            reads.waiting(True)
            try:
                block = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise read_error(exc, source, rows_read, reader.schema, BLOCK_SIZE) from None
            finally:
                reads.waiting(False)
            yield from place(block)
        yield from place(_stand_in(None, reader.schema).slice(0, 0))  # short rows after the last good one

    shift = 0  # line ends quoted in the values of the rows so far: each moves the rows after it a line down
    try:
        for table, first_row in rebatch(blocks(), batch_size, None if empty else reader.schema):
            bad = {row - first_row: bad_rows.pop(row) for row in sorted(bad_rows) if row < first_row + table.num_rows}
            # The header is line 1, so data row i is line i + 1, lower by the line ends quoted in the rows before.
            start = first_row + 1 + shift
            lines: Sequence[int] = range(start, start + table.num_rows)
            if reads.quoted:
                lines, shift = _quoted_lines(table, start, bad, lines, shift)
            check_text(table, source, lines, bad, nul=reads.nul)
            yield Batch(source=source, table=table, lines=lines, first_row=first_row, bad=bad or None)
    finally:
        reads.stop()
  # Arrow's thread may be holding a read back: it must not wait for a reader that is gone


def _quoted_lines(table: pa.Table, start: int, bad: dict[int, str], lines: Sequence[int],
                  shift: int) -> tuple[Sequence[int], int]:
    """The line of each row of `table` (the first at `start` unless moved), and the shift of the rows after it, when
    values hold line ends (only a quoted value can): an error named the line a row would be on without them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    ends = None
    for column in table.columns:
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
    second = reads.read(BLOCK_SIZE) if len(first) == BLOCK_SIZE else b""
    reads.replay(first, second)
    if not second:
        return None
    try:
        return pacsv.open_csv(
            io.BytesIO(first + second),
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
                self._start = self._fp.tell() - sum(map(len, self._replayed))
            else:
                self._recorded = list(self._replayed)

    def forget(self) -> None:
        """Keep nothing more: the reads are wanted as they were."""
        with self._reading:
            self._recorded = self._start = None

    def detach(self) -> list[bytes]:
        """Everything read since record(), in order (or none, fp being back where record() found it): its reader
        reads nothing more (an end of input), so these bytes and the rest of fp can go to another."""
        self.stop()  # a read held back goes now, and is kept with the others
        with self._reading:
            self._detached = True
            if self._start is not None:
                read_to = self._fp.tell()
                self._fp.seek(self._start)
                self.cut = _size(self._fp) < read_to
            recorded, self._recorded, self._start = self._recorded or [], None, None
        return recorded

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
        if self._replayed:
            read = self._replayed.pop(0)
            if 0 <= size < len(read):
                self._replayed.insert(0, read[size:])
                read = read[:size]
        else:
            read = self._read(size)
        if not self.nul and b"\0" in read:
            self.nul = True  # before the reader has the read: any row made from it is searched
        return read

    def _read(self, size: int) -> bytes:
        first, self._first = self._first, False
        if not first and size >= 0:
            self._hold_back()  # not holding _reading: forget() and detach() must not wait for a held read
        with self._reading:
            if self._detached:
                return b""
            read = self._read_fp(size, first)
            if not self.quoted and b'"' in read:
                self.quoted = True
            if self._recorded is not None:
                self._recorded.append(read)
            return read

    def _read_fp(self, size: int, first: bool) -> bytes:
        if first or size < 0:
            return self._fp.read(size)
        parts = [self._fp.read(min(READ_SIZE, size))]
        total = len(parts[0])
        while parts[-1] and total < size and b"\n" not in parts[-1] and b"\r" not in parts[-1]:
            parts.append(self._fp.read(min(READ_SIZE, size - total)))
            total += len(parts[-1])
        return parts[0] if len(parts) == 1 else b"".join(parts)


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
