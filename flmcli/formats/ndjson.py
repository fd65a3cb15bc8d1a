"""NDJSON: one JSON value per line, an array (positional row) or an object (named row)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from flmcli.batch import Batch
from flmcli.errors import InputError
from flmcli.formats.chunks import ChunkSource
from flmcli.formats.records import KeepInput, bare_values, row_objects, write_chunks

if TYPE_CHECKING:
    from flmcli.batch import Scored

PRETTY_HINT = "pass a JSON array or one object per line (jq -c)"


def read(fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None) -> Iterator[Batch]:
    chunks = ChunkSource(fp)
    live = max_delay is not None and chunks.live
    delay = max_delay or 0.0
    loads = orjson.loads
    records: list[Any] = []
    lines: list[int] = []
    lineno = 0
    tail = b""
    first_at = 0.0
    first_chunk = True
    while True:
        if live and records and not chunks.ready(max(0.0, first_at + delay - time.monotonic())):
            yield Batch(source=source, records=records, lines=lines, first_row=lines[0])
            records, lines = [], []
        data = chunks.read()
        if not data:
            break
        if first_chunk:
            data = data.removeprefix(b"\xef\xbb\xbf")
            first_chunk = False
        if live and not records:
            first_at = time.monotonic()
        parts = (tail + data).split(b"\n") if tail else data.split(b"\n")
        tail = parts.pop()
        for raw in parts:
            lineno += 1
            try:
                value = loads(raw)
            except orjson.JSONDecodeError as exc:
                if not raw.strip():
                    continue  # blank lines are allowed; testing here keeps the common path free of it
                raise _bad_line(raw, exc, source, lineno) from None
            if value.__class__ is not list and value.__class__ is not dict:
                raise _scalar(value, source, lineno)
            records.append(value)
            lines.append(lineno)
            if len(records) >= batch_size:
                yield Batch(source=source, records=records, lines=lines, first_row=lines[0])
                records, lines = [], []
                first_at = time.monotonic()
    if tail.strip():
        lineno += 1
        try:
            value = loads(tail)
        except orjson.JSONDecodeError as exc:
            raise _bad_line(tail, exc, source, lineno) from None
        if not isinstance(value, (list, dict)):
            raise _scalar(value, source, lineno)
        records.append(value)
        lines.append(lineno)
    if records:
        yield Batch(source=source, records=records, lines=lines, first_row=lines[0])


def _looks_pretty(line: bytes) -> bool:
    text = line.strip()
    return text in (b"{", b"[", b"}", b"]", b"},", b"],") or text.endswith((b"{", b"[", b",")) or text.startswith(b'"')


def _bad_line(raw: bytes, exc: orjson.JSONDecodeError, source: str, lineno: int) -> InputError:
    if _looks_pretty(raw):
        return InputError("looks like pretty-printed JSON, not one JSON value per line", source=source, line=lineno,
                          hint=PRETTY_HINT)
    return InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", source=source, line=lineno)


def _scalar(value: object, source: str, lineno: int) -> InputError:
    kind = "null" if value is None else type(value).__name__
    return InputError(f"expected an array or object row, got {kind}", source=source, line=lineno)


def encode(scored: Iterable[Scored], *, keep_input: KeepInput = False, shape: str = "default") -> Iterator[bytes]:
    """One object per row (`{"prediction": 0}`), or with shape="values" the bare value per line."""
    dumps = orjson.dumps
    for batch in scored:
        if shape == "values" and not keep_input:
            lines = [dumps(value) for value in bare_values(batch)]
        elif not keep_input and batch.errors is None and batch.keep is None and batch.outputs.shape[1] == 1:
            # The common case, built without a dict per row: same bytes as dumps({name: value}).
            name = str(batch.outputs.columns[0])
            opening = b"{" + dumps(name) + b":"
            lines = [opening + dumps(value) + b"}" for value in batch.outputs.iloc[:, 0].tolist()]
        else:
            lines = [dumps(row) for row in row_objects(batch, keep_input)]
        if lines:
            lines.append(b"")
            yield b"\n".join(lines)


def write(scored: Iterable[Scored], out: BinaryIO, *, keep_input: KeepInput = False, shape: str = "default") -> int:
    return write_chunks(encode, scored, out, keep_input=keep_input, shape=shape)
