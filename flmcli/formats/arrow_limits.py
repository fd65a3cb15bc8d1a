"""What an Arrow IPC body decodes to, read from its metadata before pyarrow decodes a byte.

A compressed IPC buffer starts with its uncompressed length, and pyarrow allocates that length before it
decompresses: a 12 KB zstd body can declare 400 MB, a 1 MB one tens of GB. A column of the null type has no
buffers at all, so a body of a few bytes can declare a billion rows. Both are only visible in the message
metadata (Arrow's Message.fbs / File.fbs flatbuffers), which is read here with the flatbuffers library; the
sizes found are then held to a limit before `ipc.open_stream` / `open_file` run.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO

from flatbuffers import number_types as N  # type: ignore[import-untyped]
from flatbuffers.table import Table  # type: ignore[import-untyped]

from ..errors import InputError
from .columnar import has_dictionary

# Message.fbs: the MessageHeader union's members with a body, and table slots (4 + 2 x field index)
_DICTIONARY_BATCH, _RECORD_BATCH = 2, 3
_MESSAGE_HEADER_TYPE, _MESSAGE_HEADER = 6, 8
_BATCH_LENGTH, _BATCH_NODES, _BATCH_BUFFERS, _BATCH_COMPRESSION = 4, 6, 8, 10
_DICTIONARY_DATA = 6
# File.fbs: Footer.dictionaries and Footer.recordBatches, vectors of Block {offset: long, metaDataLength: int,
# bodyLength: long} (24 bytes with padding)
_FOOTER_DICTIONARIES, _FOOTER_BATCHES = 8, 10
_STRUCT_16, _BLOCK = 16, 24
_FILE_MAGIC = b"ARROW1"
_CONTINUATION = b"\xff\xff\xff\xff"
# What a message may declare whatever its size, and beyond that at most RATIO times its body. zstd turns 4 GiB of
# zeros into about 130 kB, and pyarrow allocates what a compressed buffer declares before it decompresses; a
# legitimate batch rarely compresses 64-fold once it is this large.
FLOOR = 256 << 20
RATIO = 64


@dataclass
class Declared:
    """The bytes the buffers decode to, and the values (rows x fields) the batches hold."""

    size: int = 0
    values: int = 0


def declared(body: bytes, *, source: str) -> Declared:
    """What the record and dictionary batches of an IPC body, stream or file format, declare."""
    import pyarrow as pa
    from pyarrow import ipc

    total = Declared()
    with _malformed(source):
        if body[:6] == _FILE_MAGIC:
            blocks = _file_blocks(len(body), lambda at, n: bytes(body[at : at + n]))
            messages = [
                ipc.read_message(pa.py_buffer(body)[start : start + meta + size]) for start, meta, size in blocks
            ]
        else:
            reader = ipc.MessageReader.open_stream(pa.BufferReader(body))
            messages = _stream(reader)
        for message in messages:
            _add(total, message.metadata.to_pybytes(), _in(message.body))
    return total


def check_message(message: Any, *, source: str, number: int) -> None:
    """Refuse an IPC message whose buffers declare far more than its body could hold: see FLOOR."""
    found = Declared()
    with _malformed(source):
        _add(found, message.metadata.to_pybytes(), _in(message.body))
    _hold(found.size, message.body.size if message.body is not None else 0, source=source, number=number)


def check_file(fp: BinaryIO, *, source: str) -> None:
    """`check_message` for every message a seekable IPC file's footer points at, reading only their metadata and
    the 8-byte length that opens each compressed buffer."""
    import os

    try:
        fd = fp.fileno()
        size = os.fstat(fd).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        if isinstance(fp, io.BytesIO):  # a request body: looked at where it is, not copied
            with fp.getbuffer() as whole, whole[fp.tell() :] as view:
                _check_blocks(len(view), lambda at, n: bytes(view[at : at + n]), source)
            return
        start = fp.tell()
        data = fp.read()
        fp.seek(start)
        _check_blocks(len(data), lambda at, n: data[at : at + n], source)
        return
    _check_blocks(size, lambda at, n: os.pread(fd, n, at), source)


def _check_blocks(size: int, read: Callable[[int, int], bytes], source: str) -> None:
    with _malformed(source):
        blocks = _file_blocks(size, read)
    for number, (start, meta, body) in enumerate(blocks, 1):
        found = Declared()
        with _malformed(source):
            framed = read(start, meta)
            skip = 8 if framed[:4] == _CONTINUATION else 4
            _add(found, framed[skip:], partial(_at, read, start + meta))
        _hold(found.size, body, source=source, number=number)


def stream_batches(fp: BinaryIO, *, source: str) -> Iterator[Any]:
    """The record batches of an IPC stream, each message checked (`check_message`) before it is decoded."""
    from pyarrow import ipc

    messages = ipc.MessageReader.open_stream(fp)
    try:
        first = messages.read_next_message()
    except StopIteration:
        yield from ipc.open_stream(fp)  # pyarrow's own words for an empty stream
        return
    schema = ipc.read_schema(first)
    if any(has_dictionary(field.type) for field in schema):
        # dictionary batches fill a memo that only pyarrow's stream reader keeps: hand it the checked messages
        reader = ipc.open_stream(_CheckedStream(messages, first, source=source))
        empty = True
        for batch in reader:
            empty = False
            yield batch
        if empty:
            yield _no_rows(reader.schema)
        return
    number = 1
    while True:
        try:
            message = messages.read_next_message()
        except StopIteration:
            if number == 1:
                yield _no_rows(schema)
            return
        number += 1
        check_message(message, source=source, number=number)
        yield ipc.read_record_batch(message, schema)


def _no_rows(schema: Any) -> Any:
    """A stream of no batches still says its columns: an empty batch (see columnar.rebatch)."""
    import pyarrow as pa

    return pa.RecordBatch.from_pylist([], schema=schema)


class _CheckedStream(io.RawIOBase):
    """An IPC stream handed to pyarrow's reader message by message, each one checked first."""

    def __init__(self, messages: Any, first: Any, *, source: str) -> None:
        self._messages = messages
        self._source = source
        self._pending = memoryview(first.serialize().to_pybytes())
        self._number = 1
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._done:
            try:
                message = self._messages.read_next_message()
            except StopIteration:
                self._pending, self._done = memoryview(_CONTINUATION + bytes(4)), True
                break
            self._number += 1
            check_message(message, source=self._source, number=self._number)
            self._pending = memoryview(message.serialize().to_pybytes())
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _hold(declared_size: int, body: int, *, source: str, number: int) -> None:
    if declared_size > max(FLOOR, RATIO * body):
        raise InputError(
            f"Arrow IPC message {number} declares {declared_size >> 20} MiB from a body of {body} bytes, more than "
            f"{RATIO} times its size",
            source=source,
            hint="data this compressible can be written uncompressed, or in smaller record batches",
        )


@contextmanager
def _malformed(source: str) -> Iterator[None]:
    import pyarrow as pa

    try:
        yield
    except (pa.ArrowInvalid, OSError, struct.error, TypeError, IndexError, ValueError) as error:
        raise InputError(
            f"cannot read Arrow IPC: {str(error).splitlines()[0] or 'malformed metadata'}", source=source
        ) from None


def _at(read: Callable[[int, int], bytes], first: int, at: int) -> bytes:
    return read(first + at, 8)


def _in(body: Any) -> Callable[[int], bytes]:
    """The 8 bytes at an offset of an in-memory message body."""
    return lambda at: b"" if body is None else body.slice(at, 8).to_pybytes()


def _stream(reader: object) -> list[object]:
    out = []
    while True:
        try:
            out.append(reader.read_next_message())  # type: ignore[attr-defined]
        except StopIteration:
            return out


def _file_blocks(size: int, read: Callable[[int, int], bytes]) -> list[tuple[int, int, int]]:
    """(start, metadata length, body length) of each message the file's footer points at, as `open_file` would
    read them."""
    if size < 16 or read(size - 6, 6) != _FILE_MAGIC:
        raise ValueError("not an Arrow IPC file: no trailing magic")
    (length,) = struct.unpack("<i", read(size - 10, 4))
    start = size - 10 - length
    if length <= 0 or start < 8:
        raise ValueError("Arrow IPC file footer out of range")
    footer = read(start, length)
    table = Table(footer, _root(footer))
    blocks = []
    for slot in (_FOOTER_DICTIONARIES, _FOOTER_BATCHES):
        for at in _vector(table, slot, _BLOCK):
            offset, meta_length, _, body_length = struct.unpack_from("<qiiq", footer, at)
            if offset < 0 or meta_length < 8 or body_length < 0 or offset + meta_length + body_length > size:
                raise ValueError("Arrow IPC file block out of range")
            blocks.append((offset, meta_length, body_length))
    return blocks


def _add(total: Declared, metadata: bytes, prefix: Callable[[int], bytes]) -> None:
    """Add what one message declares; `prefix(offset)` gives the 8 bytes at an offset of its body."""
    message = Table(metadata, _root(metadata))
    kind = message.GetSlot(_MESSAGE_HEADER_TYPE, 0, N.Uint8Flags)
    if kind not in (_DICTIONARY_BATCH, _RECORD_BATCH):
        return
    header = _table(message, _MESSAGE_HEADER)
    batch = header if kind == _RECORD_BATCH else _table(header, _DICTIONARY_DATA)
    if batch is None:
        return
    rows = batch.GetSlot(_BATCH_LENGTH, 0, N.Int64Flags)
    fields = sum(1 for _ in _vector(batch, _BATCH_NODES, _STRUCT_16))
    total.values += max(0, rows) * max(1, fields)
    compressed = batch.Offset(_BATCH_COMPRESSION) != 0
    for at in _vector(batch, _BATCH_BUFFERS, _STRUCT_16):
        offset, length = struct.unpack_from("<qq", metadata, at)
        if offset < 0 or length < 0:
            raise ValueError("negative Arrow IPC buffer")
        if compressed and length >= 8:
            # each compressed buffer opens with its uncompressed length; -1 means stored as is
            (inflated,) = struct.unpack("<q", prefix(offset))
            total.size += length - 8 if inflated == -1 else inflated
        else:
            total.size += length


def _root(buffer: bytes) -> int:
    (position,) = struct.unpack_from("<I", buffer, 0)
    if position >= len(buffer):
        raise ValueError("flatbuffer root out of range")
    return int(position)


def _table(parent: Table, slot: int) -> Table | None:
    offset = parent.Offset(slot)
    if offset == 0:
        return None
    return Table(parent.Bytes, parent.Indirect(parent.Pos + offset))


def _vector(parent: Table, slot: int, width: int) -> range:
    """Where each element of a vector of structs starts, checked to lie inside the buffer (a hostile length
    cannot make the walk longer than the metadata)."""
    offset = parent.Offset(slot)
    if offset == 0:
        return range(0)
    start = parent.Vector(offset)
    count = parent.VectorLen(offset)
    if start + count * width > len(parent.Bytes):
        raise ValueError("flatbuffer vector out of range")
    return range(start, start + count * width, width)
