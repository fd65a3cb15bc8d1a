"""JSON: an array of rows, or Flama's request body {"input": [...]}. Output in Flama's response shape."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from flmcli.batch import Batch
from flmcli.errors import InputError
from flmcli.formats.records import KeepInput, bare_values, row_objects, write_chunks

if TYPE_CHECKING:
    from flmcli.batch import Scored


class _Replay:
    """A file object that gives back the bytes read to look at the top-level value, then the rest."""

    def __init__(self, head: bytes, fp: BinaryIO) -> None:
        self._head = head
        self._fp = fp

    def read(self, size: int = -1) -> bytes:
        if self._head and size != 0:  # ijson reads 0 bytes first to tell bytes from text
            head, self._head = self._head, b""
            return head
        return self._fp.read(size)


def read(fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None) -> Iterator[Batch]:
    import ijson

    read_some = getattr(fp, "read1", fp.read)  # read1: a pipe gives what it has, no waiting for 4096 bytes
    head = b""
    while not head.lstrip():
        data = read_some(4096)
        if not data:
            return  # empty input: no rows
        head += data
    head = head.removeprefix(b"\xef\xbb\xbf")
    prefix = "input.item" if head.lstrip().startswith(b"{") else "item"
    records: list[Any] = []
    row = 0
    items = ijson.items(_Replay(head, fp), prefix, use_float=True, buf_size=1 << 16)
    try:
        for value in items:
            row += 1
            if value.__class__ is not list and value.__class__ is not dict:
                kind = "null" if value is None else type(value).__name__
                raise InputError(f"row {row}: expected an array or object row, got {kind}", source=source)
            records.append(value)
            if len(records) >= batch_size:
                yield Batch(source=source, records=records, first_row=row - len(records) + 1)
                records = []
    except ijson.JSONError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"row {row + 1}: invalid JSON: {reason}", source=source) from None
    if records:
        yield Batch(source=source, records=records, first_row=row - len(records) + 1)


def encode(scored: Iterable[Scored], *, keep_input: KeepInput = False, shape: str = "default") -> Iterator[bytes]:
    """`[`, then each batch's elements, then `]`: valid JSON however many batches, even none."""
    dumps = orjson.dumps
    objects = bool(keep_input) or shape == "records"
    separator = b"["
    for batch in scored:
        values = row_objects(batch, keep_input) if objects else bare_values(batch)
        if values:
            # One dumps per batch: identical bytes to dumping the whole list, as the server does.
            yield separator + dumps(values)[1:-1]
            separator = b","
    yield b"[]" if separator == b"[" else b"]"


def write(scored: Iterable[Scored], out: BinaryIO, *, keep_input: KeepInput = False, shape: str = "default") -> int:
    return write_chunks(encode, scored, out, keep_input=keep_input, shape=shape, trailer=b"\n")
