"""CSV column types that widen when a later value does not fit the ones inferred from the first rows.

pyarrow infers a CSV column's type from the reader's first block and then holds it: a later `42.5` in a column of
whole numbers, `abc` in a numeric column or any value in a column empty so far failed the whole read. The readers
(csv_format, csv_live) instead read the rows that failed again with each column widened to what the values seen
since need: whole numbers and decimals make decimals, no value yet takes the type of the first values, anything
else mixed makes text. A value the model cannot use is then a bad row like any other (--on-error), as when it came
among the first rows; numbers stay numbers."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow names the row (counting the header as row 1, or the first row when the names are given) and the column.
_CONVERSION = re.compile(r"In CSV column #(\d+): Row #(\d+): CSV conversion error to (\S+): invalid value '(.*)'",
                         re.DOTALL)


class Clash(NamedTuple):
    """A value pyarrow could not convert to its column's type."""

    column: int
    row: int  # pyarrow's number: the header is row 1 when there is one
    value: str


def clash(exc: Exception) -> Clash | None:
    match = _CONVERSION.search(str(exc))
    if match is None:
        return None
    return Clash(int(match.group(1)), int(match.group(2)), match.group(4))


def wider(old: pa.DataType, seen: pa.DataType) -> pa.DataType:
    """The type of a column typed `old` so far whose later values alone would be typed `seen`."""
    import pyarrow as pa

    if old.equals(seen) or pa.types.is_null(seen):
        return old
    if pa.types.is_null(old):
        return pa.string() if pa.types.is_binary(seen) else seen
    if {str(old), str(seen)} == {"int64", "double"}:
        return pa.float64()
    return pa.string()  # text takes any value (text that is not UTF-8 is then named as such)


def parse(data: bytes, *, delimiter: str, names: list[str] | None,
          types: dict[str, pa.DataType] | None) -> pa.Table:
    """`data` (whole rows; a header unless `names`) as one block: pyarrow infers each column from all its rows, not
    the first block's. Short and long rows are left out."""
    import pyarrow.csv as pacsv

    return pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(block_size=len(data) + 1, use_threads=False, column_names=names),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=lambda row: "skip"),
        convert_options=pacsv.ConvertOptions(column_types=types) if types else None,
    )


def widened(data: bytes, schema: pa.Schema, failed: Clash, *, delimiter: str,
            names: list[str] | None) -> pa.Schema | None:
    """The types that read `data` (whole rows) as they read the rows before, widened where its values need it, so
    that every column converts; None when there is nothing to widen (two columns of one name, which pyarrow's types
    by name cannot tell apart, or no column that widens)."""
    import pyarrow as pa

    if len(set(schema.names)) < len(schema.names):
        return None
    try:
        seen = parse(data, delimiter=delimiter, names=names, types=None).schema
    except (pa.ArrowException, ValueError):
        seen = None
    if seen is not None and seen.names != schema.names:
        seen = None
    fields = []
    for index, field in enumerate(schema):
        kind = field.type if seen is None else wider(field.type, seen.field(index).type)
        if index == failed.column and kind.equals(field.type):
            # pyarrow converting the value and inferring from it disagree: text holds it
            kind = pa.string()
        fields.append(field.with_type(kind))
    result = pa.schema(fields)
    return None if result.equals(schema) else result
