"""What an Arrow IPC body decodes to, read from its metadata before pyarrow decodes a byte.

A compressed IPC buffer starts with its uncompressed length, and pyarrow allocates that length before it
decompresses: a 12 KB zstd body can declare 400 MB, a 1 MB one tens of GB. A column of the null type has no
buffers at all, so a body of a few bytes can declare a billion rows. Both are only visible in the message
metadata (Arrow's Message.fbs / File.fbs flatbuffers), which is read here with the flatbuffers library; the
sizes found are then held to a limit before `ipc.open_stream` / `open_file` run.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from flatbuffers import number_types as N  # type: ignore[import-untyped]
from flatbuffers.table import Table  # type: ignore[import-untyped]

from ..errors import InputError

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
    try:
        if body[:6] == _FILE_MAGIC:
            messages = [ipc.read_message(pa.py_buffer(body)[start:end]) for start, end in _file_blocks(body)]
        else:
            reader = ipc.MessageReader.open_stream(pa.BufferReader(body))
            messages = _stream(reader)
        for message in messages:
            _add(total, message.metadata.to_pybytes(), message.body)
    except (pa.ArrowInvalid, OSError, struct.error, TypeError, IndexError, ValueError) as error:
        raise InputError(f"cannot read Arrow IPC: {str(error).splitlines()[0] or 'malformed metadata'}",
                         source=source) from None
    return total


def _stream(reader: object) -> list[object]:
    out = []
    while True:
        try:
            out.append(reader.read_next_message())  # type: ignore[attr-defined]
        except StopIteration:
            return out


def _file_blocks(body: bytes) -> list[tuple[int, int]]:
    """The (start, end) of each message the file's footer points at, as `open_file` would read them."""
    if len(body) < 16 or body[-6:] != _FILE_MAGIC:
        raise ValueError("not an Arrow IPC file: no trailing magic")
    (length,) = struct.unpack_from("<i", body, len(body) - 10)
    start = len(body) - 10 - length
    if length <= 0 or start < 8:
        raise ValueError("Arrow IPC file footer out of range")
    footer = bytes(body[start : len(body) - 10])
    table = Table(footer, _root(footer))
    blocks = []
    for slot in (_FOOTER_DICTIONARIES, _FOOTER_BATCHES):
        for at in _vector(table, slot, _BLOCK):
            offset, meta_length, _, body_length = struct.unpack_from("<qiiq", footer, at)
            end = offset + meta_length + body_length
            if offset < 0 or meta_length < 0 or body_length < 0 or end > len(body):
                raise ValueError("Arrow IPC file block out of range")
            blocks.append((offset, end))
    return blocks


def _add(total: Declared, metadata: bytes, body: object) -> None:
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
    data = memoryview(body.to_pybytes() if compressed else b"")  # type: ignore[attr-defined]
    for at in _vector(batch, _BATCH_BUFFERS, _STRUCT_16):
        offset, length = struct.unpack_from("<qq", metadata, at)
        if offset < 0 or length < 0:
            raise ValueError("negative Arrow IPC buffer")
        if compressed and length >= 8:
            # each compressed buffer opens with its uncompressed length; -1 means stored as is
            (inflated,) = struct.unpack_from("<q", data, offset)
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
