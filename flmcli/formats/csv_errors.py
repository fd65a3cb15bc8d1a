"""What a CSV parse error says: the line after which it happened and, for a type clash, the column."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flmcli.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (\S+): invalid value '(.*)'", re.DOTALL)


def read_error(exc: Exception, source: str, rows_read: int, schema: pa.Schema | None) -> InputError:
    text = str(exc)
    where = f"after line {rows_read + 1}"
    match = _CONVERSION.search(text)
    if match and schema is not None:
        index, kind, value = int(match.group(1)), match.group(2), match.group(3)
        return InputError(
            f"{where}: value {value!r} is not {kind}, the type inferred from the first rows",
            source=source,
            field=schema.names[index],
            hint="make the first rows representative (e.g. 1.0 rather than 1 in a float column), or use ndjson",
        )
    return InputError(f"{where}: {text.splitlines()[0]}", source=source)
