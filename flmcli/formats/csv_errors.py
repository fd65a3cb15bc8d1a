"""What a CSV parse error says: the line after which it happened and, for a type clash, the column."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flmcli.errors import InputError, clip

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow names the row (counting the header as row 1, so it is the line) when it parses in one thread.
_CONVERSION = re.compile(r"In CSV column #(\d+): (?:Row #(\d+): )?CSV conversion error to (\S+): invalid value '(.*)'",
                         re.DOTALL)


def read_error(
    exc: Exception,
    source: str,
    rows_read: int,
    schema: pa.Schema | None,
    block_size: int | None = None,
    *,
    line_offset: int = 0,
) -> InputError:
    """`line_offset`: what to add to pyarrow's row number to make it the line (text parsed in pieces)."""
    text = str(exc)
    where = f"after line {rows_read + 1}"
    match = _CONVERSION.search(text)
    if match and schema is not None:
        index, row, kind, value = int(match.group(1)), match.group(2), match.group(3), match.group(4)
        return InputError(
            f"value {clip(repr(value))} is not {kind}, the type inferred from the first rows" if row else
            f"{where}: value {clip(repr(value))} is not {kind}, the type inferred from the first rows",
            source=source,
            line=int(row) + line_offset if row else None,
            field=schema.names[index],
            hint="make the first rows representative (e.g. 1.0 rather than 1 in a float column), or use ndjson",
        )
    if "straddling object" in text:
        block = f" of {block_size >> 20} MiB" if block_size else ""
        return InputError(f"{where}: a row longer than the CSV reader's block{block}",
                          source=source, hint="values this large need ndjson or parquet input")
    return InputError(f"{where}: {clip(text.splitlines()[0])}", source=source)
