"""Parquet text columns read as dictionaries, and decoded in slices of bounded size.

A dictionary page lets a few bytes stand for any number of copies of one long value: a 3.4 KB file held 1,024 rows
of a 1 MiB string, and `flm predict` reached 3.4 GB of RSS decoding one batch of it. Neither the footer's sizes nor
the row count say so. Read as dictionaries, a batch costs its indices; what its rows decode to is summed from the
values' lengths first, and the rows are decoded a slice at a time, each slice within a budget. For the files
Parquet writers make (dictionary pages that fall back to plain ones) reading this way costs about what reading
dense strings does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

# What one slice of rows may decode to. A row is never split, so one row larger than this is a slice alone.
BUDGET = 32 << 20


def text_columns(schema: pa.Schema) -> list[str]:
    """The top-level string and binary columns: those a dictionary page can inflate."""
    import pyarrow as pa

    kinds = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)
    return [field.name for field in schema if any(kind(field.type) for kind in kinds)]


def decoded(
    tables: Iterable[tuple[pa.Table, int]], names: Collection[str], budget: int | None = None
) -> Iterator[tuple[pa.Table, int]]:
    """`tables` (with their first row's number) with the dictionary columns in `names` decoded to their value type,
    cut into slices of rows that decode to at most `budget` bytes each."""
    import pyarrow as pa

    limit = BUDGET if budget is None else budget
    for table, first_row in tables:
        at = [i for i, field in enumerate(table.schema) if field.name in names and pa.types.is_dictionary(field.type)]
        if not at:
            yield table, first_row
            continue
        for start, stop in _slices(_row_sizes(table, at), limit):
            part = table.slice(start, stop - start)
            for i in at:
                field = part.schema.field(i)
                value_type = field.type.value_type
                part = part.set_column(i, field.with_type(value_type), part.column(i).cast(value_type))
            yield part, first_row + start


def _row_sizes(table: pa.Table, at: list[int]) -> np.ndarray:
    """Bytes each row's dictionary columns decode to (value bytes; offsets and validity are per row anyway)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    sizes = np.zeros(table.num_rows, dtype=np.int64)
    for i in at:
        column = table.column(i)
        lengths = [pc.binary_length(chunk.dictionary).cast(pa.int64()) for chunk in column.chunks]
        parts = [pc.take(length, chunk.indices) for length, chunk in zip(lengths, column.chunks)]
        sizes += pc.fill_null(pa.chunked_array(parts, type=pa.int64()), 0).to_numpy()
    return sizes


def _slices(sizes: np.ndarray, budget: int) -> Iterator[tuple[int, int]]:
    import numpy as np

    total = np.cumsum(sizes)
    start = 0
    while start < len(sizes):
        before = int(total[start - 1]) if start else 0
        stop = max(int(np.searchsorted(total, before + budget, side="right")), start + 1)
        yield start, stop
        start = stop
