"""NDJSON: one JSON value per line, an array (positional row) or an object (named row)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from flmcli.batch import BadRecord, Batch
from flmcli.errors import InputError
from flmcli.formats import json_keys
from flmcli.formats.chunks import ChunkSource, Pause
from flmcli.formats.nesting import is_depth_error, too_deep
from flmcli.formats.numeric_lines import numeric_lines
from flmcli.formats.records import Unwritable, dump_rows, row_objects, write_chunks
from flmcli.formats.registry import KeepInput

if TYPE_CHECKING:
    from flmcli.batch import Scored

PRETTY_HINT = "pass a JSON array or one object per line (jq -c)"
NOT_TEXT = "not text: a NUL byte (binary data, or UTF-16 text); NDJSON is read as UTF-8 text"
NOT_UTF8_HINT = "convert the text to UTF-8 first (iconv -f latin1 -t utf-8, say)"


_ROW_TYPES = frozenset((list, dict))
# What one line may hold: a reader holds an unfinished line whole, so without a bound `flm predict --from ndjson
# /dev/zero` grew until the machine ran out of memory.
MAX_LINE = 64 << 20


def too_long(line: int, source: str) -> InputError:
    return InputError(f"a line longer than {MAX_LINE >> 20} MiB; a row may be at most that", source=source, line=line)


def read(fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None) -> Iterator[Batch]:
    chunks = ChunkSource(fp)
    pause = Pause(chunks, max_delay)
    records: list[Any] = []
    lines: list[int] = []
    lineno = 0  # lines consumed so far
    tails: list[bytes] = []  # a line not yet ended, in the pieces it came in (joined once: `+` was quadratic)
    tail_size = 0
    data = chunks.read().removeprefix(b"\xef\xbb\xbf")
    while data:
        cut = data.rfind(b"\n")
        if cut < 0:
            tails.append(data)
            tail_size += len(data)
            parts: list[bytes] = []
        else:
            if tail_size + cut > MAX_LINE:
                check_lines(tails, data[:cut], lineno + 1, source)
            parts = (b"".join([*tails, data[:cut]]) if tails else data[:cut]).split(b"\n")
            tails = [data[cut + 1 :]] if cut + 1 < len(data) else []
            tail_size = len(data) - cut - 1
        if tail_size > MAX_LINE:
            raise too_long(lineno + len(parts) + 1, source)
        values, numbers = parse_lines(parts, lineno + 1, source)
        lineno += len(parts)
        if values:
            if not records:
                pause.restart()
            records.extend(values)
            lines.extend(numbers)
            while len(records) >= batch_size:
                yield Batch(source=source, records=records[:batch_size], lines=lines[:batch_size],
                            first_row=lines[0])
                records, lines = records[batch_size:], lines[batch_size:]
                pause.restart()
        # Only with rows pending and the chunk used up is it worth asking whether the producer went quiet.
        if pause.due(len(records)):
            yield Batch(source=source, records=records, lines=lines, first_row=lines[0])
            records, lines = [], []
        data = chunks.read()
    tail = b"".join(tails)
    if tail.strip():
        values, numbers = parse_lines([tail], lineno + 1, source)
        records.extend(values)
        lines.extend(numbers)
    if records:
        yield Batch(source=source, records=records, lines=lines, first_row=lines[0])


def check_lines(tails: list[bytes], head: bytes, first_line: int, source: str) -> None:
    """Refuse the first line over MAX_LINE among the unfinished line's pieces + `head` (whole lines, the first
    numbered `first_line`)."""
    size = sum(len(t) for t in tails)
    start = 0
    line = first_line
    while True:
        end = head.find(b"\n", start)
        stop = len(head) if end < 0 else end
        if size + stop - start > MAX_LINE:
            raise too_long(line, source)
        if end < 0:
            return
        size, start, line = 0, end + 1, line + 1


def parse_lines(parts: list[bytes], first_line: int, source: str) -> tuple[list[Any], list[int]]:
    """Decode whole lines; one list comprehension for a clean chunk, a line-by-line pass otherwise."""
    loads = orjson.loads
    try:
        values = [loads(raw) for raw in parts]
    except orjson.JSONDecodeError:
        return _parse_slowly(parts, first_line, source)
    if not _ROW_TYPES.issuperset(map(type, values)):
        return _parse_slowly(parts, first_line, source)
    if json_keys.suspect(b"\n".join(parts), values):
        for index, (raw, value) in enumerate(zip(parts, values, strict=True)):
            key = json_keys.twice_in_line(raw, value)
            if key is not None:
                values[index] = json_keys.bad_record(key)
    return values, list(range(first_line, first_line + len(parts)))


def _parse_slowly(parts: list[bytes], first_line: int, source: str) -> tuple[list[Any], list[int]]:
    values: list[Any] = []
    numbers: list[int] = []
    for lineno, raw in enumerate(parts, first_line):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if not raw.strip():
                continue  # blank lines are allowed
            # Kept in place as a bad row: the rows before it still get scored, and --on-error decides.
            error = _bad_line(raw, exc, source, lineno)
            value = BadRecord(error.reason, error.hint)
        if value.__class__ not in _ROW_TYPES and value.__class__ is not BadRecord:
            error = _scalar(value, source, lineno)
            value = BadRecord(error.reason, error.hint)
        key = json_keys.twice_in_line(raw, value)
        if key is not None:
            value = json_keys.bad_record(key)
        values.append(value)
        numbers.append(lineno)
    return values, numbers


def _looks_pretty(line: bytes) -> bool:
    text = line.strip()
    return text in (b"{", b"[", b"}", b"]", b"},", b"],") or text.endswith((b"{", b"[", b",")) or text.startswith(b'"')


def _bad_line(raw: bytes, exc: orjson.JSONDecodeError, source: str, lineno: int) -> InputError:
    if is_depth_error(exc.msg):  # orjson stops at its limit, which is the row nesting limit
        return too_deep(source, lineno)
    if "not valid UTF-8" in exc.msg:
        return _not_utf8(raw, source, lineno)
    if _looks_pretty(raw):
        return InputError("looks like pretty-printed JSON, not one JSON value per line", source=source, line=lineno,
                          hint=PRETTY_HINT)
    return InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", source=source, line=lineno)


def _not_utf8(raw: bytes, source: str, lineno: int) -> InputError:
    """orjson says 'str is not valid UTF-8: surrogates not allowed' at column 1 of any such line: say what it is."""
    if b"\x00" in raw:
        return InputError(NOT_TEXT, source=source, line=lineno, hint=NOT_UTF8_HINT)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        column = len(raw[: error.start].decode("utf-8")) + 1
        return InputError(f"the text is not UTF-8 (column {column})", source=source, line=lineno, hint=NOT_UTF8_HINT)
    return InputError("the text is not UTF-8", source=source, line=lineno, hint=NOT_UTF8_HINT)


def _scalar(value: object, source: str, lineno: int) -> InputError:
    kind = "null" if value is None else type(value).__name__
    return InputError(f"expected an array or object row, got {kind}", source=source, line=lineno)


def encode(scored: Iterable[Scored], *, keep_input: KeepInput = False) -> Iterator[bytes]:
    """One object per row: `{"prediction": 0}`."""
    for batch in scored:
        try:
            chunk = _lines(batch, keep_input)
        except Unwritable as unwritable:
            if unwritable.written:
                yield b"\n".join([*unwritable.written, b""])
            raise unwritable.error from None
        # Not held while the next batch is scored: a loop variable lives until the next one is taken, and with it
        # the batch's table, model input and text (one batch more in memory: bench/bench_rss.py).
        del batch
        if chunk:
            yield chunk


def _lines(batch: Scored, keep_input: KeepInput) -> bytes:
    """The batch's rows as NDJSON lines, each ended."""
    dumps = orjson.dumps
    # Outputs only, every row written as scored: --on-error null sets errors on every batch.
    plain = (
        not keep_input
        and (batch.errors is None or not any(batch.errors))
        and (batch.keep is None or all(batch.keep))
    )
    if plain and (whole := numeric_lines(batch.outputs)) is not None:
        return whole
    if plain and batch.outputs.shape[1] == 1:
        # The common case, built without a dict per row: same bytes as dumps({name: value}).
        name = str(batch.outputs.columns[0])
        opening = b"{" + dumps(name) + b":"
        lines = [opening + dumps(value) + b"}" for value in batch.outputs.iloc[:, 0].tolist()]
    else:
        lines = dump_rows(dumps, row_objects(batch, keep_input), batch)
    if not lines:
        return b""
    lines.append(b"")
    return b"\n".join(lines)


def write(scored: Iterable[Scored], out: BinaryIO, *, keep_input: KeepInput = False) -> int:
    return write_chunks(encode, scored, out, keep_input=keep_input)
