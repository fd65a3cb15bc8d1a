"""NDJSON object rows parsed by Arrow's C++ JSON reader into typed columns, a batch at a time.

The row-by-row reader (`ndjson.read`) stays the one source of truth for what a row means: every batch this
reader yields can give back the same rows decoded by it (`Batch.fallback`), and the predictor takes that
road whenever the typed columns are not plainly the model's features (a missing field, a null, a nested
value, a value the model refuses), so messages and --on-error behave exactly as there. Batches hold the same
rows as that reader's would (a row per line); a blank line would shift them, so from the first batch holding
one the rest of the input is read by the row-by-row reader itself.

Live input keeps the row-by-row reader's rhythm: rows are cut at line ends as they arrive and a partial batch
is handed on once the producer has been quiet for --max-delay.

A batch of more than SUB_LINES lines is parsed SUB_LINES lines at a time as they arrive (`_Filling`), its text let go
as soon as it is typed: the batch's whole text, a copy of it joined, and the parse of it never stand in memory at
once. Where a part is refused or types a column otherwise than the parts before it (an int column that meets a
float), the batch's whole text is parsed as one, as it was before: what a batch becomes does not depend on this.
"""

from __future__ import annotations

import functools
import io
import os
import stat
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from flmcli.batch import Batch
from flmcli.errors import InputError
from flmcli.formats import ndjson, nesting
from flmcli.formats.chunks import ChunkSource, Pause

if TYPE_CHECKING:
    import pyarrow as pa

# Arrow parses blocks of this size on its own threads; a row longer than a block fails the parse, and such a
# batch is decoded row by row instead.
BLOCK_SIZE = 1 << 20
# Whether Arrow may parse the blocks of one batch on several threads (bench/bench_columnar.py measures both).
USE_THREADS = True
_BOM = b"\xef\xbb\xbf"
# Lines parsed at a time into a batch's typed columns (`_Filling`). A 64k-row churn batch parsed whole held ~29 MiB of
# Arrow memory for its 7.4 MiB table, beside its 15 MB of text and a joined copy of it. Parsed 16k lines at a time,
# peak RSS of 1M churn rows 360 -> 318 MiB, 100k 303 -> 297, same CPU seconds (3 interleaved rounds, load 6);
# 8k lines: 312 MiB, 32k: 333.
SUB_LINES = 16384


def read(fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None) -> Iterator[Batch]:
    chunks = ChunkSource(fp)
    pause = Pause(chunks, max_delay)
    tries = _Tries()
    reread = _Reread.of(fp, chunks)
    pending: list[tuple[bytes, int]] = []  # whole lines not yet in a batch, as read, with their count
    count = 0  # lines in `pending`
    tails: list[bytes] = []  # a line not yet ended, in the pieces it came in (joined once: `+=` was quadratic)
    tail_size = 0
    lineno = 1  # line number of the first pending line (or of the batch being filled)
    filling = _Filling(reread, tries)
    split = batch_size > SUB_LINES
    data = chunks.read().removeprefix(_BOM)
    while data:
        cut = data.rfind(b"\n")
        if cut < 0:
            tails.append(data)
            tail_size += len(data)
        else:
            if tail_size + cut > ndjson.MAX_LINE:
                ndjson.check_lines(tails, data[:cut], lineno + count, source)
            piece = b"".join([*tails, data[: cut + 1]]) if tails else data[: cut + 1]
            tails = [data[cut + 1 :]] if cut + 1 < len(data) else []
            tail_size = len(data) - cut - 1
            if not count and not filling.lines:
                pause.restart()
            pending.append((piece, _occurrences(piece, b"\n")))
            count += pending[-1][1]
            del piece
        if tail_size > ndjson.MAX_LINE:
            raise ndjson.too_long(lineno + count, source)
        while True:
            if filling.parts is None and not filling.decided and split and count >= SUB_LINES:
                filling.begin(tries.due())
            if filling.parts is not None:
                need = min(SUB_LINES, batch_size - filling.lines)
                if count < need:
                    break
                start = None if reread is None else reread.offset(chunks, pending, tail_size)
                text, pending = _take(pending, need)
                count -= need
                if not filling.add(text, need, start):
                    # The whole batch's text so far goes back in front of what is pending, parsed as one below.
                    whole = filling.text(text, lineno, source)
                    pending.insert(0, (whole, filling.lines + need))
                    count += filling.lines + need
                    filling.whole()
                    del whole
                del text
                if filling.lines < batch_size:
                    continue
                batch = filling.batch(lineno, source)
            elif count >= batch_size:
                # Where the batch's text starts in the file: everything read is in a batch already, or still pending.
                start = None if reread is None else reread.offset(chunks, pending, tail_size)
                text, pending = _take(pending, batch_size)
                count -= batch_size
                parsed = _batch(text, batch_size, lineno, source, tries, filling.columns(), reread, start)
                filling.reset()
                if parsed is None:
                    rows = text + b"".join(p for p, _ in pending) + b"".join(tails)
                    yield from _row_by_row(rows, chunks, fp, lineno, source,
                                           batch_size, max_delay)
                    return
                batch = parsed
                del text  # not held while the batch waits to be scored: it can be read again (_Reread)
            else:
                break
            yield batch
            del batch  # nor while the next is read
            lineno += batch_size
            pause.restart()
        # Only with rows pending and the chunk used up is it worth asking whether the producer went quiet.
        if pause.due(count + filling.lines):
            start = None if reread is None else reread.offset(chunks, pending, tail_size)
            text = b"".join(p for p, _ in pending)
            lines = filling.lines + count
            parsed = filling.last(text, count, start, lineno, source)
            if parsed is None:
                yield from _row_by_row(filling.text(text, lineno, source) + b"".join(tails), chunks, fp, lineno, source, batch_size,
                                       max_delay)
                return
            del text
            filling.reset()
            pending = []
            yield parsed
            del parsed
            lineno += lines
            count = 0
        data = chunks.read()
    start = None if reread is None else reread.offset(chunks, pending, tail_size)
    tail = b"".join(tails)
    text = b"".join(p for p, _ in pending) + tail
    del pending, tails
    if not text and not filling.lines:
        return
    parsed = filling.last(text, count + (1 if tail else 0), start, lineno, source)
    if parsed is None:
        yield from _row_by_row(filling.text(text, lineno, source), chunks, fp, lineno, source, batch_size, max_delay)
        return
    del text, tail
    yield parsed


class _Filling:
    """The batch being filled SUB_LINES lines at a time: the typed columns of its lines so far, and where their text
    is (read again from the file, else kept). It stops being filled so (`whole`) when a part is refused or types
    a column otherwise than the first; its text is then parsed as one, as a batch of few lines always is."""

    def __init__(self, reread: _Reread | None, tries: _Tries) -> None:
        self._reread = reread
        self._tries = tries
        self.reset()

    def reset(self) -> None:
        self.parts: list[pa.Table] | None = None  # None: not filled a part at a time
        self.decided = False  # whether this batch goes to json_columns first was asked (_Tries.due)
        self._columns = False
        self.lines = 0
        self._texts: list[bytes] = []  # without _Reread
        self._start: int | None = None
        self._size = 0

    def begin(self, columns: bool) -> None:
        """A batch starts: parts only where json_columns may take it (an input it refused goes by Arrow's reader
        for a while, a batch at a time, as before)."""
        self.decided = True
        self._columns = columns
        if columns:
            self.parts = []

    def columns(self) -> bool:
        """Whether the batch about to be parsed whole goes to json_columns first (asked of _Tries once a batch)."""
        return self._columns if self.decided else self._tries.due()

    def add(self, text: bytes, lines: int, start: int | None) -> bool:
        """The typed columns of `text` (`lines` lines) join the batch; False if they cannot (see the class)."""
        from flmcli.formats import json_columns

        assert self.parts is not None
        table = json_columns.parse_objects(text, lines)
        if table is None:
            self._columns = False  # refused: the whole text goes to Arrow's reader, as a batch refused whole does
            self._tries.refused()
        elif not self.parts or table.schema.equals(self.parts[0].schema):
            if not self.parts:
                self._start = start
            self.parts.append(table)
            self.lines += lines
            self._size += len(text)
            if self._reread is None or self._start is None:
                self._texts.append(text)
            return True
        return False

    def whole(self) -> None:
        """The batch is parsed whole from here (its text is back with the pending lines)."""
        self.parts = None
        self.lines = 0
        self._texts = []
        self._start = None
        self._size = 0

    def text(self, more: bytes, first_line: int, source: str) -> bytes:
        """The text of the lines so far (from `first_line` on), and `more` after it."""
        if not self.lines:
            return more
        if self._texts:
            return b"".join([*self._texts, more])
        assert self._reread is not None and self._start is not None
        return self._reread.text(self._start, self._size, self.lines, first_line, source) + more

    def batch(self, first_line: int, source: str) -> Batch:
        import pyarrow as pa

        assert self.parts is not None
        table = pa.concat_tables(self.parts)
        if self._texts:
            fallback = functools.partial(_decoded_parts, self._texts, first_line, source)
        else:
            assert self._reread is not None and self._start is not None
            fallback = functools.partial(self._reread.decoded, self._start, self._size, self.lines, first_line, source)
        batch = Batch(source=source, table=table, first_row=first_line, fallback=fallback)
        self.reset()
        return batch

    def last(self, text: bytes, lines: int, start: int | None, first_line: int, source: str) -> Batch | None:
        """The batch of the lines so far and `text` (`lines` lines: the input ended, or a live producer paused);
        None when a line is blank (see `_batch`)."""
        if self.parts and (not text or self.add(text, lines, start)):
            return self.batch(first_line, source)
        whole = self.text(text, first_line, source)
        start = self._start if self.lines else start
        return _batch(whole, self.lines + lines, first_line, source, self._tries, self.columns(), self._reread, start)


class _Reread:
    """The text of a batch read again from a regular file when its rows are decoded one by one (a bad row named,
    --on-error), instead of kept beside its columns: ~15 MB per 64k-row churn batch, held for as long as the
    batch waits and is scored (bench/bench_rss.py). Pipes, terminals and in-memory bodies keep their text."""

    def __init__(self, fd: int, origin: int) -> None:
        # A descriptor of its own, closed with the last batch that may read again: the input's own is closed as
        # soon as its last batch is read, while its batches may still wait to be scored, and its number reused.
        self.fd = os.dup(fd)
        weakref.finalize(self, os.close, self.fd)
        self.origin = origin  # where in the file the first byte the reader read was

    @classmethod
    def of(cls, fp: BinaryIO, chunks: ChunkSource) -> _Reread | None:
        # Only a plain file object: a wrapper's descriptor could be of other bytes than it reads (a slice of a file).
        if chunks.live or not isinstance(getattr(fp, "raw", fp), io.FileIO):
            return None
        try:
            fd = fp.fileno()
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return cls(fd, fp.tell())
        except (AttributeError, OSError, ValueError):
            return None

    def offset(self, chunks: ChunkSource, pending: list[tuple[bytes, int]], tail_size: int) -> int:
        """Where the first pending line starts: the bytes pending and the tail are the last ones read."""
        return self.origin + chunks.total - sum(len(piece) for piece, _ in pending) - tail_size

    def text(self, start: int, size: int, lines: int, first_line: int, source: str) -> bytes:
        """The `size` bytes at `start`, which were read as `lines` lines from `first_line` on."""
        text = os.pread(self.fd, size, start)
        # The file was written to while flm read it: its rows could no longer be the ones scored.
        if len(text) != size or _occurrences(text, b"\n") + (not text.endswith(b"\n")) != lines:
            raise InputError("changed while it was read (lines read again differ)", source=source, line=first_line)
        return text

    def decoded(self, start: int, size: int, lines: int, first_line: int, source: str) -> Batch:
        """`_decoded` of the `size` bytes at `start`, read again to name a bad row."""
        return _decoded(self.text(start, size, lines, first_line, source), first_line, source)


def _take(pending: list[tuple[bytes, int]], lines: int) -> tuple[bytes, list[tuple[bytes, int]]]:
    """The first `lines` lines of `pending` as one bytes object, and what is left."""
    taken: list[bytes] = []
    for index, (piece, count) in enumerate(pending):
        if count < lines:
            taken.append(piece)
            lines -= count
            continue
        at = -1
        for _ in range(lines):
            at = piece.index(b"\n", at + 1)
        taken.append(piece[: at + 1])
        rest = pending[index + 1 :]
        if at + 1 < len(piece):
            rest.insert(0, (piece[at + 1 :], count - lines))
        return b"".join(taken), rest
    raise AssertionError("fewer lines pending than taken")


class _Tries:
    """Whether the next batch goes to `json_columns` first. A batch it refuses can cost nearly a parse of its own
    (a nested field at the end of every line is found last), so after a refusal the next batches skip it: the
    input is likely to go on alike."""

    SKIP = 7

    def __init__(self) -> None:
        self._skipped = 0

    def due(self) -> bool:
        if self._skipped:
            self._skipped -= 1
            return False
        return True

    def refused(self) -> None:
        self._skipped = self.SKIP


def _batch(text: bytes, lines: int, first_line: int, source: str, tries: _Tries, columns: bool,
           reread: _Reread | None = None, start: int | None = None) -> Batch | None:
    """`lines` lines as one batch of typed columns, else of decoded rows; None when a line is blank.

    Columns come from `json_columns` (if `columns`) where every line is a flat object with the same keys (a third
    of the CPU of Arrow's JSON reader), else from Arrow's JSON reader."""
    from flmcli.formats import json_columns

    table = None
    if columns:
        table = json_columns.parse_objects(text, lines)
        if table is None:
            tries.refused()
    if table is None and _plain_object_lines(text, lines) and _within_nesting_limit(text, lines) and _narrow(text):
        table = _parse(text)
        if table is not None and (table.num_rows != lines or not _finite(table, text)):
            table = None
    if table is not None:
        if reread is not None and start is not None:
            fallback = functools.partial(reread.decoded, start, len(text), lines, first_line, source)
        else:
            fallback = functools.partial(_decoded, text, first_line, source)
        return Batch(source=source, table=table, first_row=first_line, fallback=fallback)
    batch = _decoded(text, first_line, source)
    if len(batch) != lines:
        return None  # a blank line: the rows of this and later batches are no longer one per line
    return batch


def _narrow(text: bytes) -> bool:
    """Whether no line has more than json_columns.MAX_COLUMNS fields (commas inside strings count too, which only
    sends the batch the row-by-row way). Arrow's JSON reader makes a column of every key any line has, null in
    the other rows: one 1 MB line of 100k keys among short lines took gigabytes."""
    import numpy as np

    from flmcli.formats.json_columns import MAX_COLUMNS

    if text.count(b",") < MAX_COLUMNS:
        return True
    data = np.frombuffer(text, dtype=np.uint8)
    commas = np.flatnonzero(data == ord(","))
    ends = np.append(np.flatnonzero(data == ord("\n")), len(data))
    per_line = np.diff(np.searchsorted(commas, ends), prepend=0)
    return int(per_line.max()) < MAX_COLUMNS


def _plain_object_lines(text: bytes, lines: int) -> bool:
    """Whether Arrow may read these lines: each opens with `{` (so, with as many rows as lines, one object per
    line: no blank line, no two objects on one) and the text is UTF-8."""
    if _lines_opening_object(text) < lines:
        return False
    if not text.isascii():
        # Arrow does not check that strings are UTF-8 (orjson does, and says where): only valid text goes to it.
        try:
            text.decode()
        except UnicodeDecodeError:
            return False
    return True


# Below this size bytes.count is as quick; above, numpy counts without holding the GIL, so the model's thread
# runs meanwhile (bytes.count holds it: ~0.5 s of a 1M-row run spent holding up the main thread).
_NUMPY_FROM = 1 << 16


def _occurrences(text: bytes, *characters: bytes) -> int:
    """How many bytes of `text` are one of `characters` (single bytes)."""
    if len(text) < _NUMPY_FROM:
        return sum(text.count(character) for character in characters)
    import numpy as np

    array = np.frombuffer(text, dtype=np.uint8)
    return sum(int(np.count_nonzero(array == ord(character))) for character in characters)


def _lines_opening_object(text: bytes) -> int:
    """How many lines of `text` open with `{`: the first, if it does, and each `\\n{`."""
    first = int(text[:1] == b"{")
    if len(text) < _NUMPY_FROM:
        return text.count(b"\n{") + first
    import numpy as np

    # Each pair of bytes is at an even or an odd offset: two views as 16-bit words find them all.
    pair = np.frombuffer(b"\n{", dtype="<u2")[0]
    even = np.frombuffer(text, dtype="<u2", count=len(text) // 2)
    odd = np.frombuffer(text, dtype="<u2", count=(len(text) - 1) // 2, offset=1)
    return int(np.count_nonzero(even == pair)) + int(np.count_nonzero(odd == pair)) + first


def _finite(table: pa.Table, text: bytes) -> bool:
    """Whether no row holds NaN or (-)Infinity, which Arrow's parser takes and JSON (orjson) refuses.

    In a table of top-level scalars those can only be NaN or infinite values of a float column, which Arrow's
    compute functions find without holding the GIL (scanning the text for the words holds it while the model
    runs); nested columns are checked on the text, where a false alarm (the words inside a string) only costs
    the row-by-row pass."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if any(pa.types.is_nested(field.type) for field in table.schema):
        return b"NaN" not in text and b"Infinity" not in text
    for column in table.columns:
        if pa.types.is_floating(column.type) and pc.all(pc.is_finite(column)).as_py() is False:
            return False
    return True


def _within_nesting_limit(text: bytes, lines: int) -> bool:
    """Whether no row nests deeper than the row nesting limit, which orjson enforces and Arrow does not.

    Every line opens with `{`, so counting brackets is enough when few are left over (no row is deeper than
    those plus one); otherwise the linear scan that skips strings decides."""
    opens = _occurrences(text, b"{", b"[")
    if opens <= nesting.NESTING_LIMIT:
        return True
    if opens - lines < nesting.NESTING_LIMIT:  # every line opens with `{` (checked first)
        return True
    if _lines_open_few(text, nesting.NESTING_LIMIT):
        return True
    # Fed a piece at a time: the guard's regular expression holds ~16x the text it is given at once (258 MiB for a
    # 64k-row churn batch with a nested field in each row), ~1x a piece this size.
    guard = nesting.DepthGuard(None)
    try:
        for at in range(0, len(text), _NESTING_PIECE):
            guard.feed(text[at : at + _NESTING_PIECE])
    except InputError:
        return False
    return True


_NESTING_PIECE = 1 << 18


def _lines_open_few(text: bytes, limit: int) -> bool:
    """Whether every line of `text` opens at most `limit` arrays and objects: then no row nests deeper (brackets in
    strings only add to the count). Rows with a nested field each open a few: counted by numpy, a piece at a time
    (small masks), ~10 ms for a 64k-row batch, where the scan that skips strings took ~0.5 CPU-s. False sends the
    batch to that scan."""
    import numpy as np

    start, end = 0, len(text)
    while start < end:
        stop = text.rfind(b"\n", start, min(end, start + _NESTING_PIECE))
        if stop < 0:
            if end - start > _NESTING_PIECE:
                return False  # a line longer than a piece: the scan decides
            stop = end
        piece = np.frombuffer(text, dtype=np.uint8, count=stop - start, offset=start)
        opens = np.flatnonzero((piece == ord("{")) | (piece == ord("[")))
        if len(opens) > limit:
            bounds = np.flatnonzero(piece == ord("\n"))
            per_line = np.diff(np.searchsorted(opens, bounds), prepend=0, append=len(opens))
            if per_line.max() > limit:
                return False
        start = stop + 1
    return True


def _parse(text: bytes) -> pa.Table | None:
    import pyarrow as pa
    import pyarrow.json as pajson

    options = pajson.ReadOptions(use_threads=USE_THREADS, block_size=BLOCK_SIZE)
    try:
        return pajson.read_json(pa.BufferReader(text), read_options=options)
    except (pa.ArrowException, UnicodeDecodeError):  # invalid UTF-8 comes out as a UnicodeDecodeError
        return None


def _decoded_parts(texts: list[bytes], first_line: int, source: str) -> Batch:
    """`_decoded` of the text kept in parts (`_Filling`), joined only when a bad row is to be named."""
    return _decoded(b"".join(texts), first_line, source)


def _decoded(text: bytes, first_line: int, source: str) -> Batch:
    """The rows of `text` as the row-by-row reader decodes them, with their line numbers."""
    parts = text.split(b"\n")
    if parts and not parts[-1]:
        parts.pop()
    records, numbers = ndjson.parse_lines(parts, first_line, source)
    return Batch(source=source, records=records, lines=numbers, first_row=numbers[0] if numbers else first_line)


class _Replay:
    """`head`, then the rest of `fp`; the file descriptor still answers whether a live producer paused."""

    def __init__(self, head: bytes, chunks: ChunkSource, fp: BinaryIO) -> None:
        self._head = head
        self._chunks = chunks
        self._fp = fp

    def read1(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._chunks.read()

    read = read1

    def fileno(self) -> int:
        return self._fp.fileno()


def _row_by_row(
    head: bytes, chunks: ChunkSource, fp: BinaryIO, first_line: int, source: str, batch_size: int,
    max_delay: float | None,
) -> Iterator[Batch]:
    """The rest of the input, from line `first_line` (a batch start) on, through the row-by-row reader."""
    shift = first_line - 1
    rows = ndjson.read(_Replay(head, chunks, fp), source=source, batch_size=batch_size,  # type: ignore[arg-type]
                       max_delay=max_delay)
    while True:
        try:
            batch = next(rows)
        except StopIteration:
            return
        except InputError as error:
            if error.line is None or not shift:
                raise
            raise InputError(error.reason, source=error.source, line=error.line + shift, field=error.field,
                             hint=error.hint) from None
        if shift:
            batch.lines = [line + shift for line in batch.lines or ()]
            batch.first_row += shift
        yield batch
