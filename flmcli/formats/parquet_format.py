"""Parquet: read row-group by row-group, written as a stream of row groups (one per batch)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from flmcli.batch import Batch
from flmcli.errors import InputError
from flmcli.formats import parquet_limits, parquet_strings, written_depth
from flmcli.formats.columnar import encode_tables, native, rebatch
from flmcli.formats.records import write_chunks
from flmcli.formats.registry import KeepInput

if TYPE_CHECKING:
    import pyarrow as pa

    from flmcli.batch import Scored


# Each column's pages are read through a buffer of this size instead of its whole column chunk at once: a row group
# of 1M churn rows holds 10 MB of compressed columns, which stayed in memory while its batches were read.
READ_BUFFER = 1 << 16
# Whether pyarrow decodes a batch's columns on its own thread pool. It does not: the reader thread decodes them,
# beside the model on the main thread. Arrow's threads held ~20-25 MiB more peak RSS from 1M churn rows up (their
# own allocations' fragmentation: 1M-row groups 181 vs 152 MiB reading alone), for no speed: decoding is ~0.09 CPU-s
# per 1M rows, far less than the model, whose core it would take (bench/bench_rss.py, bench/bench_columnar.py).
USE_THREADS = False


def read(fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None) -> Iterator[Batch]:
    return read_row_groups(fp, source=source, batch_size=batch_size)


def read_row_groups(fp: BinaryIO, *, source: str, batch_size: int, row_groups: Sequence[int] | None = None
                    ) -> Iterator[Batch]:
    """`read`, of the given row groups only (a Dask partition); rows are numbered from the first of them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # pre_buffer (pyarrow's default) caches every column chunk it has read ahead, so peak memory grew with the
        # file: 282 MiB at 10M rows vs 228 at 5M for the churn data; without it, 201 vs 205.
        parquet = pq.ParquetFile(native(fp), pre_buffer=False, buffer_size=READ_BUFFER)
        declared = parquet.schema_arrow
        text = parquet_strings.text_leaves(parquet)
        if text:  # as dictionaries, decoded in bounded slices: see parquet_strings
            parquet = pq.ParquetFile(native(fp), pre_buffer=False, buffer_size=READ_BUFFER, metadata=parquet.metadata,
                                     read_dictionary=text)
        # one row group at a time: pyarrow cannot join a nested column's dictionaries across row groups in a batch
        groups = range(parquet.metadata.num_row_groups) if row_groups is None else row_groups
        parquet_limits.check(parquet, groups, source=source)
        batches = (b for g in groups for b in parquet.iter_batches(batch_size=batch_size, row_groups=[g],
                                                                           use_threads=USE_THREADS))
        for table, first_row, dictionaries in parquet_strings.decoded(rebatch(batches, batch_size, parquet.schema_arrow), declared,
                                                                      source=source):
            yield Batch(source=source, table=table, first_row=first_row, dictionaries=dictionaries)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read Parquet: {str(exc).splitlines()[0]}", source=source) from None


def encode(scored: Iterable[Scored], *, keep_input: KeepInput = False) -> Iterator[bytes]:
    import pyarrow.parquet as pq

    def open_writer(sink: io.BytesIO, schema: pa.Schema) -> Any:
        return pq.ParquetWriter(sink, schema)

    return encode_tables(scored, keep_input, open_writer, lambda w, t: w.write_table(t), depth=written_depth.PARQUET)


def write(scored: Iterable[Scored], out: BinaryIO, *, keep_input: KeepInput = False) -> int:
    return write_chunks(encode, scored, out, keep_input=keep_input)
