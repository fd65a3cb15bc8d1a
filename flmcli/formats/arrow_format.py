"""Arrow IPC: the stream format (read and written) and the file format (read; it needs a seekable input)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from flmcli.batch import Batch
from flmcli.errors import InputError
from flmcli.formats import arrow_limits, written_depth
from flmcli.formats.columnar import encode_tables, native, rebatch
from flmcli.formats.records import write_chunks
from flmcli.formats.registry import KeepInput

if TYPE_CHECKING:
    import pyarrow as pa

    from flmcli.batch import Scored


def _is_file_format(fp: BinaryIO) -> bool:
    peek = getattr(fp, "peek", None)
    if peek is not None:
        return bytes(peek(6)[:6]) == b"ARROW1"
    if fp.seekable():
        start = fp.tell()
        magic = fp.read(6)
        fp.seek(start)
        return magic == b"ARROW1"
    return False


def read(fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None) -> Iterator[Batch]:
    import pyarrow as pa
    from pyarrow import ipc

    try:
        # every message's declared sizes are checked before pyarrow allocates them: see arrow_limits
        if _is_file_format(fp):
            arrow_limits.check_file(fp, source=source)
            file = ipc.open_file(native(fp))
            batches: Iterable[pa.RecordBatch] = (file.get_batch(i) for i in range(file.num_record_batches))
            schema = file.schema
        else:
            batches = arrow_limits.stream_batches(fp, source=source)
            schema = None  # an empty batch first says it: see stream_batches
        for table, first_row in rebatch(batches, batch_size, schema):
            yield Batch(source=source, table=table, first_row=first_row)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read Arrow IPC: {str(exc).splitlines()[0]}", source=source) from None


def encode(scored: Iterable[Scored], *, keep_input: KeepInput = False) -> Iterator[bytes]:
    from pyarrow import ipc

    def open_writer(sink: io.BytesIO, schema: pa.Schema) -> Any:
        return ipc.new_stream(sink, schema)

    return encode_tables(scored, keep_input, open_writer, lambda w, t: w.write_table(t), depth=written_depth.ARROW)


def write(scored: Iterable[Scored], out: BinaryIO, *, keep_input: KeepInput = False) -> int:
    return write_chunks(encode, scored, out, keep_input=keep_input)
