"""CSV from a live pipe (`tail -f scores.csv | flm predict`): rows as they arrive, flushed when the producer pauses.

pyarrow's streaming reader waits for a whole block, so live input is cut at line ends here and each run of
complete lines is parsed with the column types of the first one. A quoted field spanning lines is not
supported on this path.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flmcli.batch import Batch
from flmcli.formats.chunks import ChunkSource, Pause
from flmcli.formats.csv_errors import read_error

if TYPE_CHECKING:
    import pyarrow as pa


def read(chunks: ChunkSource, *, source: str, batch_size: int, max_delay: float, delimiter: str) -> Iterator[Batch]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    parse = pacsv.ParseOptions(delimiter=delimiter)
    header = b""
    schema: pa.Schema | None = None
    pending: list[pa.Table] = []
    count = 0
    row = 1  # 1-based data row of the first pending row
    tail = b""
    pause = Pause(chunks, max_delay)
    while data := chunks.read():
        text = tail + data
        end = text.rfind(b"\n") + 1
        complete, tail = text[:end], text[end:]
        if not header:
            header, _, complete = complete.partition(b"\n")
            header += b"\n"
        if complete.strip():
            convert = pacsv.ConvertOptions(column_types=schema) if schema is not None else None
            try:
                table = pacsv.read_csv(io.BytesIO(header + complete), parse_options=parse, convert_options=convert)
            except pa.ArrowInvalid as exc:
                raise read_error(exc, source, row + count - 1, schema) from None
            schema = schema or table.schema
            if not pending:
                pause.restart()
            pending.append(table)
            count += table.num_rows
        while count >= batch_size or pause.due(count):
            whole = pa.concat_tables(pending)
            size = min(count, batch_size)
            yield _batch(whole.slice(0, size), source, row)
            row += size
            count -= size
            pending = [whole.slice(size)] if count else []
            pause.restart()
    if tail.strip():
        convert = pacsv.ConvertOptions(column_types=schema) if schema is not None else None
        try:
            pending.append(pacsv.read_csv(io.BytesIO(header + tail), parse_options=parse, convert_options=convert))
        except pa.ArrowInvalid as exc:
            raise read_error(exc, source, row + count - 1, schema) from None
    if pending:
        whole = pa.concat_tables(pending)
        if whole.num_rows:
            yield _batch(whole, source, row)


def _batch(table: pa.Table, source: str, first_row: int) -> Batch:
    lines = list(range(first_row + 1, first_row + 1 + table.num_rows))  # the header is line 1
    return Batch(source=source, table=table, lines=lines, first_row=first_row)
