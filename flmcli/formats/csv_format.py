"""CSV (and TSV, with a tab delimiter): a header row, then one row per record."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from flmcli.batch import Batch
from flmcli.formats import csv_live
from flmcli.formats.chunks import ChunkSource
from flmcli.formats.columnar import encode_tables, rebatch
from flmcli.formats.csv_errors import read_error
from flmcli.formats.records import write_chunks
from flmcli.formats.registry import KeepInput

if TYPE_CHECKING:
    import pyarrow as pa

    from flmcli.batch import Scored

# Large blocks keep pyarrow's parser busy; types are inferred from the first block and then fixed.
BLOCK_SIZE = 1 << 22


def read(
    fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None, delimiter: str = ","
) -> Iterator[Batch]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    chunks = ChunkSource(fp)
    if max_delay is not None and chunks.live:
        yield from csv_live.read(chunks, source=source, batch_size=batch_size, max_delay=max_delay, delimiter=delimiter)
        return
    try:
        reader = pacsv.open_csv(
            fp,
            read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return
        raise read_error(exc, source, 0, None) from None
    rows_read = 0

    def blocks() -> Iterator[pa.RecordBatch]:
        nonlocal rows_read
        while True:
            try:
                block = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise read_error(exc, source, rows_read, reader.schema) from None
            rows_read += block.num_rows
            yield block

    for table, first_row in rebatch(blocks(), batch_size):
        # The header is line 1, so data row i is line i + 1 (a quoted field spanning lines shifts this).
        lines = list(range(first_row + 1, first_row + 1 + table.num_rows))
        yield Batch(source=source, table=table, lines=lines, first_row=first_row)


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
                         preamble=lambda schema: header(schema, delimiter), typed=False)


def write(scored: Iterable[Scored], out: BinaryIO, *, keep_input: KeepInput = False) -> int:
    return write_chunks(encode, scored, out, keep_input=keep_input)
