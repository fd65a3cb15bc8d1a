"""Parquet text columns read as dictionaries, and decoded in slices of bounded size.

A dictionary page lets a few bytes stand for any number of copies of one long value: a 3.4 KB file held 1,024 rows
of a 1 MiB string, and `flm predict` reached 3.4 GB of RSS decoding one batch of it. Neither the footer's sizes nor
the row count say so. Read as dictionaries (every string and binary leaf, nested ones too), a batch costs its
indices; what its rows decode to is summed from the values' lengths first, and the rows are decoded a slice at a
time, each slice within a budget. For the files
Parquet writers make (dictionary pages that fall back to plain ones) reading this way costs about what reading
dense strings does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from flmcli.errors import InputError
from flmcli.formats.columnar import has_dictionary

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

# What one slice of rows may decode to, and so what one row may: a row is never split.
BUDGET = 32 << 20


def text_leaves(parquet: pq.ParquetFile) -> list[str]:
    """The paths of every string and binary leaf, nested ones too (`tags.list.element`): what a dictionary page can
    inflate, and what pyarrow can keep as dictionaries."""
    return [column.path for column in parquet.schema if column.physical_type == "BYTE_ARRAY"]


def decoded(
    tables: Iterable[tuple[pa.Table, int]], declared: pa.Schema, *, source: str, budget: int | None = None
) -> Iterator[tuple[pa.Table, int, dict[str, pa.ChunkedArray] | None]]:
    """`tables` (with their first row's number), read with dictionaries, cast back to the `declared` types, in
    slices of rows that decode to at most `budget` bytes of dictionary values each. A single row beyond the budget
    (a list of a million copies of a long value) is refused: no slice could hold it.

    With each slice, its top-level text columns as they were read (dictionary-encoded) by name, for the model's
    frame (features.from_table): it takes each distinct string from the dictionary once."""
    import numpy as np

    limit = BUDGET if budget is None else budget
    for table, first_row in tables:
        at = [
            i
            for i, field in enumerate(table.schema)
            if field.type != declared.field(i).type and has_dictionary(field.type)
        ]
        if not at:
            yield table, first_row, None
            continue
        text = [i for i in at if _is_text(declared.field(i).type) and is_text_dictionary(table.schema.field(i).type)]
        columns = _column_sizes(table, at)
        sizes = sum(columns.values(), start=np.zeros(table.num_rows, dtype=np.int64))
        if len(sizes) and int(sizes.max()) > limit:
            row = int(np.argmax(sizes > limit))
            column = max(columns, key=lambda i: int(columns[i][row]))
            raise InputError(
                f"its values decode to {int(sizes[row]) >> 20} MiB, more than the {limit >> 20} MiB one row may hold",
                source=source,
                line=first_row + row,
                field=table.schema.field(column).name,
            )
        for start, stop in _slices(sizes, limit):
            part = table.slice(start, stop - start)
            dictionaries = {part.schema.field(i).name: part.column(i) for i in text}
            for i in at:
                field = declared.field(i)
                part = part.set_column(i, field, part.column(i).cast(field.type))
            yield part, first_row + start, dictionaries or None


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def is_text_dictionary(kind: pa.DataType) -> bool:
    """A dictionary of strings (what a text leaf is read as)."""
    import pyarrow as pa

    return bool(pa.types.is_dictionary(kind) and _is_text(kind.value_type))


def _column_sizes(table: pa.Table, at: list[int]) -> dict[int, np.ndarray]:
    """Bytes of dictionary values each row of each column `at` stands for once decoded."""
    import numpy as np

    empty = np.zeros(0, dtype=np.int64)
    return {i: np.concatenate([empty, *(_sizes(chunk) for chunk in table.column(i).chunks)]) for i in at}


def _sizes(array: pa.Array) -> np.ndarray:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_dictionary(kind):
        if not (
            pa.types.is_string(kind.value_type)
            or pa.types.is_binary(kind.value_type)
            or pa.types.is_large_string(kind.value_type)
            or pa.types.is_large_binary(kind.value_type)
        ):
            return np.zeros(len(array), dtype=np.int64)
        lengths = pc.binary_length(array.dictionary).cast(pa.int64())
        taken = pc.fill_null(pc.take(lengths, array.indices), 0)
        return np.asarray(taken.to_numpy(zero_copy_only=False), dtype=np.int64)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind):
        # offsets index the whole child (a slice keeps its parent's child), hence sums over the child
        inner = np.concatenate([[0], np.cumsum(_sizes(array.values))])
        offsets = array.offsets.to_numpy()
        return np.asarray(inner[offsets[1:]] - inner[offsets[:-1]], dtype=np.int64)
    if pa.types.is_fixed_size_list(kind):
        width = kind.list_size
        inner = np.concatenate([[0], np.cumsum(_sizes(array.flatten()))])
        ends = np.arange(1, len(array) + 1) * width
        return np.asarray(inner[ends] - inner[ends - width], dtype=np.int64)
    if pa.types.is_struct(kind):
        total = np.zeros(len(array), dtype=np.int64)
        for i in range(kind.num_fields):
            total += _sizes(array.field(i))
        return total
    return np.zeros(len(array), dtype=np.int64)


def _slices(sizes: np.ndarray, budget: int) -> Iterator[tuple[int, int]]:
    import numpy as np

    total = np.cumsum(sizes)
    start = 0
    while start < len(sizes):
        before = int(total[start - 1]) if start else 0
        stop = max(int(np.searchsorted(total, before + budget, side="right")), start + 1)
        yield start, stop
        start = stop
