"""JSON: an array of rows, or Flama's request body {"input": [...]}. Output in Flama's response shape."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from flmcli.batch import BadRecord, Batch
from flmcli.errors import InputError
from flmcli.formats import envelope, json_keys
from flmcli.formats.chunks import ChunkSource, Pause
from flmcli.formats.nesting import DepthGuard
from flmcli.formats.records import Unwritable, bare_values, dump_rows, row_objects, write_chunks
from flmcli.formats.registry import KeepInput

if TYPE_CHECKING:
    import pyarrow as pa

    from flmcli.batch import Scored


class _Replay:
    """A file object that gives back the bytes read to look at the top-level value, then the rest.

    Everything it hands out passes the nesting limit first: ijson's cost grows with the square of the depth.
    """

    def __init__(self, head: bytes, fp: BinaryIO | None, source: str) -> None:
        self._head = head
        self._fp = fp
        self._guard = DepthGuard(source)

    def read(self, size: int = -1) -> bytes:
        if self._head and size != 0:  # ijson reads 0 bytes first to tell bytes from text
            data, self._head = self._head, b""
        else:
            data = self._fp.read(size) if self._fp is not None else b""
        self._guard.feed(data)
        return data


# A comma between two rows (each an array or an object); inside a string or a nested row it is a false
# candidate, which the parse of the prefix rejects (JSON tokenises the same from any element start).
_BOUNDARY = re.compile(rb"[\]}]\s*(,)\s*[\[{]")
CHUNK_SIZE = 1 << 20
_WINDOW = 1 << 16
_TRIES = 4


def read(fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None) -> Iterator[Batch]:
    return _read(fp, source=source, batch_size=batch_size, max_delay=max_delay, typed=False)


def read_typed(fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None) -> Iterator[Batch]:
    """`read`, with runs of plain array rows parsed into typed columns (`json_columns`) where the text allows:
    such a batch holds a table whose columns are the rows' positions, and gives back the rows `read` would
    have decoded (`Batch.fallback`), which the predictor falls back on as for NDJSON through Arrow."""
    return _read(fp, source=source, batch_size=batch_size, max_delay=max_delay, typed=True)


def _read(fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None, typed: bool) -> Iterator[Batch]:
    chunks = ChunkSource(fp, CHUNK_SIZE)
    pause = Pause(chunks, max_delay)
    head = b""
    while not head.lstrip():
        data = chunks.read()
        if not data:
            return  # empty input: no rows
        head += data
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if b"\x00" in text[:4] or text[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # UTF-16 (a BOM, or NULs between ASCII characters; JSON holds no raw NUL), said as NDJSON and CSV say it:
        # it was "got text that is not JSON", or an invalid JSON row when the text opened with `[`.
        raise InputError("not text: a NUL byte or a UTF-16 BOM (binary data, or UTF-16 text); JSON is read as "
                         "UTF-8 text", source=source, hint="convert the text to UTF-8 first (iconv -f utf-16 -t utf-8)")
    opening = envelope.ROWS_OPENING.match(text)
    if opening is not None:
        values: Iterator[list[Any] | _Columns] = _split_rows(text[opening.end():], text[:1] == b"{", chunks, fp,
                                                             source, pause.live, typed)
    elif text[:1] == b"{":
        values = _envelope(_Replay(text, fp, source), source)
    else:
        raise InputError(f"expected a JSON array of rows or {envelope.BODY}, got {_kind_of(text)}",
                         source=source)
    pending = _Pending(source)
    row = 0  # rows read so far
    try:
        for piece in values:
            if isinstance(piece, _Columns) or piece:
                if isinstance(piece, list):
                    for index, value in enumerate(piece):
                        if value.__class__ not in (list, dict, BadRecord):
                            # Kept in place as a bad row, like a malformed NDJSON line: --on-error decides.
                            kind = "null" if value is None else type(value).__name__
                            piece[index] = BadRecord(f"expected an array or object row, got {kind}")
                if not pending.rows:
                    pause.restart()
                row += len(piece)
                pending.add(piece)
                while pending.rows >= batch_size:
                    yield pending.take(batch_size, row - pending.rows + 1)
                    pause.restart()
            if pause.due(pending.rows):
                yield pending.take(pending.rows, row - pending.rows + 1)
            if typed and row:
                chunks.size = _typed_read_size(chunks.total / row, batch_size - pending.rows)
    except InputError:
        # A syntax error ends the document, but the rows before it are scored and written first.
        if pending.rows:
            yield pending.take(pending.rows, row - pending.rows + 1)
        raise
    if pending.rows:
        yield pending.take(pending.rows, row - pending.rows + 1)


def _typed_read_size(row_bytes: float, rows: int) -> int:
    """Bytes to read next for typed columns: what the batch being filled still needs, by the mean row size so far,
    and a few percent over, so that its rows come from one parse (each parse costs ~100 Arrow calls whatever its
    size, each a wait for the GIL while the model thread holds it) and a batch keeps little of the next one's text
    alive. Between CHUNK_SIZE and 16 of them: bounded, and a small batch (a live pipe's) reads as before."""
    return max(CHUNK_SIZE, min(16 * CHUNK_SIZE, int(rows * row_bytes * 1.03)))


class _Columns:
    """Rows parsed into typed columns, and the text they came from (`[...],[...]`), decoded only if asked."""

    def __init__(self, table: pa.Table, text: bytes) -> None:
        self.table = table
        self.text = text
        self.start = 0  # rows of `text` already handed on
        self._rows: list[Any] | None = None

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def records(self, start: int, stop: int) -> list[Any]:
        # Decoded once: a chunk's rows can span several batches, each of which may fall back.
        if self._rows is None:
            self._rows = orjson.loads(b"[" + self.text + b"]")  # valid JSON: json_columns checked every value
        return self._rows[start:stop]


class _Pending:
    """Rows read and not yet in a batch: lists of decoded rows and runs of typed columns, in order."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pieces: list[list[Any] | _Columns] = []
        self.rows = 0

    def add(self, piece: list[Any] | _Columns) -> None:
        self.pieces.append(piece)
        self.rows += len(piece)

    def take(self, rows: int, first_row: int) -> Batch:
        """The next `rows` rows as one batch: typed columns if they all are, else decoded rows."""
        taken: list[tuple[list[Any] | _Columns, int, int]] = []  # piece, start, stop
        left = rows
        while left:
            piece = self.pieces[0]
            start = piece.start if isinstance(piece, _Columns) else 0
            size = len(piece) - start if isinstance(piece, _Columns) else len(piece)
            if size <= left:
                taken.append((piece, start, start + size))
                self.pieces.pop(0)
                left -= size
            else:
                taken.append((piece, start, start + left))
                if isinstance(piece, _Columns):
                    piece.start += left
                else:
                    self.pieces[0] = piece[left:]
                left = 0
        self.rows -= rows

        def decoded() -> Batch:
            records: list[Any] = []
            for piece, start, stop in taken:
                records.extend(piece.records(start, stop) if isinstance(piece, _Columns) else piece[start:stop])
            return Batch(source=self.source, records=records, first_row=first_row)

        if not all(isinstance(piece, _Columns) for piece, _, _ in taken):
            return decoded()
        import pyarrow as pa

        tables = [piece.table.slice(start, stop - start) for piece, start, stop in taken]  # type: ignore[union-attr]
        names = tables[0].column_names
        if any(table.column_names != names for table in tables):
            return decoded()
        try:
            table = pa.concat_tables(tables, promote_options="none")
        except pa.ArrowException:  # an int column in one piece that is float in the next: the rows decide
            return decoded()
        texts = {id(piece): len(piece.text) for piece, _, _ in taken if isinstance(piece, _Columns)}
        return Batch(source=self.source, table=table, first_row=first_row, fallback=decoded, positional=True,
                     text_bytes=sum(texts.values()))


def _kind_of(text: bytes) -> str:
    """What a top-level JSON value that is not rows looks like, for the message."""
    first = text[:1]
    if first == b'"':
        return "a string"
    if first in (b"t", b"f"):
        return "a boolean"
    if first == b"n":
        return "null"
    if first[:1].isdigit() or first == b"-":
        return "a number"
    return "text that is not JSON"


def _split_rows(
    buffer: bytes, wrapped: bool, chunks: ChunkSource, fp: BinaryIO, source: str, live: bool, typed: bool = False
) -> Iterator[list[Any] | _Columns]:
    """Rows of an array, parsed by orjson a chunk at a time: cut after the last complete row of each chunk.

    Anything this cannot cut (rows bigger than a chunk, a syntax error) is handed to ijson from the same
    place, so the result, and the row number of an error, are ijson's. Live input also tries the whole
    buffer, so that the last row a paused producer sent is not held back waiting for the next comma.
    Yields after every chunk, possibly nothing, so the caller can flush on a pause.
    """
    loads = _typed_rows if typed else _rows
    rows = 0
    separator_due = False  # the whole buffer was taken: the next bytes open with "," (or the closing "]")
    data = buffer or chunks.read()  # what the caller read to find the opening is the first chunk
    buffer = b""
    while data:
        buffer = buffer + data if buffer else data
        data = b""
        if separator_due:
            buffer = buffer.lstrip()
            if not buffer:
                data = chunks.read()
                continue
            if buffer[:1] == b",":
                buffer = buffer[1:]
            separator_due = False
        cut = -1
        values: list[Any] | _Columns = []
        if live and buffer.rstrip()[-1:] in (b"}", b"]"):
            try:
                values = loads(buffer)
                cut = len(buffer)
                separator_due = True
            except orjson.JSONDecodeError:
                pass
        candidates = [] if cut >= 0 else list(_BOUNDARY.finditer(buffer, max(0, len(buffer) - _WINDOW)))
        for match in candidates[::-1][:_TRIES]:
            try:
                values = loads(buffer[: match.start(1)])
            except orjson.JSONDecodeError:
                continue
            cut = match.start(1)
            break
        if cut < 0:
            if candidates or len(buffer) > 64 * CHUNK_SIZE:
                yield from _fallback(buffer, wrapped, fp, source, rows)
                return
            yield []  # one row longer than what was read so far
        else:
            rows += len(values)
            yield values
            buffer = buffer[cut + 1 :]
        data = chunks.read()
    tail = buffer.rstrip()
    # Flama's body must close its object too: without its `}` it was cut short, and ijson says so.
    closed = not wrapped or tail.endswith(b"}")
    if wrapped and closed:
        tail = tail[:-1].rstrip()
    last: list[Any] | _Columns | None
    try:
        last = loads(tail[:-1]) if closed and tail.endswith(b"]") else None  # the array's own `]` cut
    except orjson.JSONDecodeError:
        last = None
    if last is None:
        yield from _fallback(buffer, wrapped, None, source, rows)
        return
    yield last


def _rows(text: bytes) -> list[Any]:
    """The rows of `text`, elements of an array written without its brackets."""
    rows: list[Any] = orjson.loads(b"[" + text + b"]")
    return json_keys.refuse_in_rows(text, rows)


def _typed_rows(text: bytes) -> list[Any] | _Columns:
    """`_rows(text)`, or the rows as typed columns where `json_columns` takes them."""
    from flmcli.formats import json_columns

    rows = text.strip(b" \t\n\r")  # JSON's whitespace only
    if rows:
        table = json_columns.parse(rows)
        if table is not None:
            return _Columns(table, rows)
    return _rows(text)


def _fallback(buffer: bytes, wrapped: bool, fp: BinaryIO | None, source: str, rows: int) -> Iterator[list[Any]]:
    opening = envelope.CANONICAL_OPENING if wrapped else b"["
    stream = _Replay(opening + buffer, fp, source)
    yield from _with_ijson(stream, envelope.ITEMS if wrapped else "item", source, rows)


def _with_ijson(stream: _Replay, prefix: str, source: str, rows: int) -> Iterator[list[Any]]:
    import ijson

    piece: list[Any] = []
    events = ijson.parse(stream, use_float=True, buf_size=1 << 16)
    try:
        # ijson's items of "input.item" are those of every "input" key: a body giving it twice was scored as both.
        for value in ijson.items(_input_once(events, source) if prefix == envelope.ITEMS else events, prefix):
            piece.append(value)
            if len(piece) >= 1024:
                rows += len(piece)
                yield piece
                piece = []
    except (ijson.JSONError, InputError) as exc:
        if piece:
            yield piece  # rows before the error still get their row numbers checked and counted
        if isinstance(exc, InputError) and exc.field == envelope.KEY:
            raise
        raise _syntax_error(exc, source, rows + len(piece) + 1) from None
    if piece:
        yield piece


def _input_once(events: Iterator[tuple[str, str, Any]], source: str) -> Iterator[tuple[str, str, Any]]:
    """The parse events of an envelope, refusing a second "input" key (JSON leaves which one is meant undefined,
    as for a field given twice in a row) and any other key (`envelope.other_key`)."""
    seen = False
    for prefix, event, value in events:
        if event == "map_key" and prefix == "":
            if value != envelope.KEY:
                raise envelope.other_key(value, source)
            if seen:
                raise _twice(source)
            seen = True
        yield prefix, event, value


def _twice(source: str) -> InputError:
    return InputError("given twice in the body (which one is meant, JSON leaves undefined)", source=source,
                      field=envelope.KEY, hint="give each field once")


def _envelope(stream: _Replay, source: str) -> Iterator[list[Any]]:
    """Rows of an object that is not `{"input": [` from its first bytes: refused unless "input" holds an array."""
    import ijson
    from ijson.common import ObjectBuilder

    piece: list[Any] = []
    rows = 0
    found = False
    builder: ObjectBuilder | None = None
    depth = 0
    try:
        # The body's own keys are checked by _input_once (one "input", no other), as for `{"input": [` bodies.
        for prefix, event, value in _input_once(ijson.parse(stream, use_float=True, buf_size=1 << 16), source):
            if builder is not None:
                builder.event(event, value)
                depth += 1 if event in ("start_map", "start_array") else -1 if event in ("end_map", "end_array") else 0
                if depth == 0:
                    piece.append(builder.value)
                    builder = None
                    if len(piece) >= 1024:
                        rows += len(piece)
                        yield piece
                        piece = []
            elif prefix == envelope.KEY:
                if event == "start_array":
                    found = True
                elif event != "end_array":
                    raise InputError(f"expected an array of rows, got {_event_kind(event)}", source=source,
                                     field=envelope.KEY)
            elif prefix == envelope.ITEMS:
                if event in ("start_map", "start_array"):
                    builder, depth = ObjectBuilder(), 1
                    builder.event(event, value)
                else:
                    piece.append(value)  # a scalar where a row should be: a bad row, as in an array
    except (ijson.JSONError, InputError) as exc:
        if piece:
            yield piece
        if isinstance(exc, InputError) and exc.field == envelope.KEY:
            raise
        raise _syntax_error(exc, source, rows + len(piece) + 1) from None
    if not found:  # no key at all: any other was refused as it came
        raise InputError(f"missing field (the object is empty); send a JSON array of rows or {envelope.BODY}",
                         source=source, field=envelope.KEY)
    if piece:
        yield piece


def _event_kind(event: str) -> str:
    return {"start_map": "an object", "string": "a string", "number": "a number", "boolean": "a boolean",
            "null": "null"}.get(event, event)


def _syntax_error(exc: Exception, source: str, row: int) -> InputError:
    if isinstance(exc, InputError):  # the nesting limit
        return exc
    # yajl's errors (ijson's C backend) come as bytes holding the text, a copy of the input and a pointer line.
    detail = exc.args[0] if exc.args else ""
    text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(exc)
    reason = text.splitlines()[0] if text.strip() else type(exc).__name__
    return InputError(f"row {row}: invalid JSON: {reason}", source=source)


def encode(scored: Iterable[Scored], *, keep_input: KeepInput = False) -> Iterator[bytes]:
    """`[`, then each batch's elements, then `]`: valid JSON however many batches, even none."""
    dumps = orjson.dumps
    objects = bool(keep_input)
    separator = b"["
    for batch in scored:
        values = row_objects(batch, keep_input) if objects else bare_values(batch)
        if not values:
            continue
        # One dumps per batch: identical bytes to dumping the whole list, as the server does.
        try:
            chunk = dumps(values)[1:-1]
        except TypeError:  # a row orjson cannot write: dump_rows names it, the rows before it written first
            try:
                rows = dump_rows(dumps, values, batch)
            except Unwritable as unwritable:
                if unwritable.written:
                    yield separator + b",".join(unwritable.written)
                raise unwritable.error from None
            if not rows:
                continue  # every row of the batch dropped (--on-error skip): no separator before nothing
            chunk = b",".join(rows)
        del batch, values  # not held while the next batch is scored (see ndjson.encode)
        yield separator + chunk
        separator = b","
    yield b"[]" if separator == b"[" else b"]"


def write(scored: Iterable[Scored], out: BinaryIO, *, keep_input: KeepInput = False) -> int:
    return write_chunks(encode, scored, out, keep_input=keep_input, trailer=b"\n")
