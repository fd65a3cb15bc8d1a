"""Parquet lists: what a row group's nested columns declare they decode to, checked before pyarrow reads them.

A flat column holds one value per row, so a batch of rows bounds it. A list column does not: run-length encoding lets
a 4 kB file hold one row of sixty million zeros, and pyarrow decodes a row whole (1 GB of RSS for that file, and
nothing stops a row at a billion). The footer declares each column chunk's value count and stored size; a nested
column may decode to at most max(FLOOR, RATIO times its stored size), the rule Arrow IPC messages are held to
(`arrow_limits`). Lists of random floats (embeddings) store at about 1:1 and pass whatever their size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flmcli.errors import InputError
from flmcli.formats.arrow_limits import FLOOR, RATIO

if TYPE_CHECKING:
    import pyarrow.parquet as pq

# Bytes per value by physical type; BYTE_ARRAY counts its offset or dictionary index (the text itself is bounded by
# `parquet_strings`). Each value also counts 4 bytes for the list offsets and validity above it.
_WIDTH = {"BOOLEAN": 1, "INT32": 4, "FLOAT": 4, "INT64": 8, "DOUBLE": 8, "INT96": 12, "BYTE_ARRAY": 4}
_PER_VALUE = 4


def check(parquet: pq.ParquetFile, row_groups: Iterable[int], *, source: str) -> None:
    """Refuse the file if a nested column of one of `row_groups` declares more than its stored size could hold."""
    schema = parquet.schema
    nested = [i for i in range(len(schema)) if schema.column(i).max_repetition_level > 0]
    if not nested:
        return
    metadata = parquet.metadata
    for group in row_groups:
        chunks = metadata.row_group(group)
        for i in nested:
            column = schema.column(i)
            chunk = chunks.column(i)
            width = column.length if column.physical_type == "FIXED_LEN_BYTE_ARRAY" else _WIDTH.get(
                column.physical_type, 8)
            declared = chunk.num_values * ((width or 1) + _PER_VALUE)
            stored = max(chunk.total_compressed_size, 0)
            if declared > max(FLOOR, RATIO * stored):
                raise InputError(
                    f"row group {group} declares {chunk.num_values:,} list values ({declared >> 20} MiB decoded) "
                    f"in {stored:,} stored bytes; a list column may decode to at most {FLOOR >> 20} MiB or "
                    f"{RATIO} times its stored size",
                    source=source,
                    field=column.path,
                )
