"""Which input fields `--keep-input` / `--keep a,b` writes next to the outputs, for row and columnar writers alike."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flmcli.errors import InputError
from flmcli.formats.registry import KeepInput

if TYPE_CHECKING:
    import pyarrow as pa

POSITIONAL_HINT = "use --keep-input without names, or object rows"


def wanted(keep_input: KeepInput) -> list[str] | None:
    """The fields to keep by name, or None for every field (or none, when keep_input is False)."""
    return keep_input if isinstance(keep_input, list) else None


def missing(name: str, source: str, line: int | None = None) -> InputError:
    return InputError("no such input field to keep", source=source, line=line, field=name)


def positional(source: str, line: int | None = None) -> InputError:
    return InputError("cannot keep named fields of a positional (array) row", source=source, line=line,
                      hint=POSITIONAL_HINT)


def select(table: pa.Table, names: list[str] | None, source: str, bad: Iterable[int] | None = None) -> pa.Table:
    """The kept columns of a columnar batch. A column named twice (a CSV header's) is refused: a record holds one
    field of a name, so one of the two would be lost, or the next stage would read either. A name the table has no
    column of (a CSV header, a Parquet or Arrow schema) is refused: no row of the input can hold it, so it is a typo;
    a row that lacks a field other rows have is a null in the column, kept as such (as object rows keep it)."""
    every = names is None
    if names is None:
        if len(set(table.column_names)) == table.num_columns:
            return _null_rows(table, bad)
        names = table.column_names
    for name in names:
        if name not in table.column_names:
            raise missing(name, source)
        if table.column_names.count(name) > 1:
            raise InputError(f"the input has {table.column_names.count(name)} columns of this name", source=source,
                             field=name, hint="rename one, or keep the others with --keep" if every else None)
    return _null_rows(table.select(names), bad)


def _null_rows(table: pa.Table, bad: Iterable[int] | None) -> pa.Table:
    """`table` with the rows at `bad` null in every column: a bad row's place in a table is held by a stand-in (a
    copy of a good row, to keep the column types), whose values are not the bad row's and must not be written."""
    rows = sorted(set(bad or ()))
    if not rows:
        return table
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = np.zeros(table.num_rows, dtype=bool)
    mask[rows] = True
    where = pa.array(mask)
    return pa.table([pc.if_else(where, pa.scalar(None, type=column.type), column) for column in table.columns],
                    names=table.column_names)
