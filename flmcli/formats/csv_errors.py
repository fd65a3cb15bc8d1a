"""What a CSV parse error says: the line after which it happened and, for a type clash, the column."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from flmcli.errors import InputError, clip

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow names the row (counting the header as row 1, so it is the line) when it parses in one thread.
_CONVERSION = re.compile(r"In CSV column #(\d+): (?:Row #(\d+): )?CSV conversion error to (\S+): invalid value '(.*)'",
                         re.DOTALL)
_NOT_UTF8 = re.compile(r"In CSV column #(\d+): (?:Row #(\d+): )?CSV conversion error to string: invalid UTF8")
_WIDTH = re.compile(r"CSV parse error: Row #(\d+): Expected (\d+) columns, got (\d+)")
NOT_UTF8 = "the text is not UTF-8"
NOT_UTF8_HINT = "convert the file to UTF-8 first (iconv -f latin1 -t utf-8, say)"
NOT_TEXT = "not text: a NUL byte (binary data, or UTF-16 text); CSV is read as UTF-8 text"
NOT_TEXT_HINT = "give the format with --from, or convert the text to UTF-8"


def quiet_undecodable_rows() -> None:
    """pyarrow decodes a row of the wrong width to UTF-8 before it calls our invalid-row handler; a row that is
    not UTF-8 fails there, where the error cannot propagate, so Python printed it with a traceback ('Exception
    ignored in ... on_invalid'). pyarrow then fails the read with a parse error naming the row, which read_error
    turns into the message. Only that one case is silenced; every other unraisable error goes to the hook there
    was before."""
    previous = sys.unraisablehook
    if getattr(previous, "flm_csv_rows", False):
        return

    def hook(unraisable: Any) -> None:
        if (isinstance(unraisable.exc_value, UnicodeDecodeError)
                and getattr(unraisable.object, "__module__", "").startswith("flmcli.formats.csv")):
            return
        previous(unraisable)

    hook.flm_csv_rows = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def header_names(schema: pa.Schema, source: str) -> list[str]:
    """The columns' names, or the error naming a header that is not UTF-8 (pyarrow cannot decode its names)."""
    try:
        return list(schema.names)
    except UnicodeDecodeError:
        raise InputError(f"the header: {NOT_UTF8}", source=source, line=1, hint=NOT_UTF8_HINT) from None


def check_text(table: pa.Table | pa.RecordBatch, source: str, first_line: int | Sequence[int],
               skip: Iterable[int] = (), *, nul: bool = True) -> None:
    """CSV is text: pyarrow types a column holding bytes that are not UTF-8 as binary (and cannot decode such a
    header), which would reach the model as bytes objects, so no value of the column matches a category.
    `first_line`: the line of the table's first row (or of each row); `skip`: row indexes that are stand-ins for bad
    rows; `nul`: False when the text the table was read from is known to hold no NUL byte, so no value need be
    searched for one."""
    import pyarrow as pa

    try:
        names = table.schema.names
    except UnicodeDecodeError:
        raise InputError(f"the header: {NOT_UTF8}", source=source, line=1, hint=NOT_UTF8_HINT) from None
    skipped = set(skip)
    for index, field in enumerate(table.schema):
        if nul and (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            _refuse_nul(table.column(index), source, first_line, names[index], skipped)
        if not (pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type)):
            continue
        for row, value in enumerate(table.column(index).to_pylist()):
            if row in skipped or value is None:
                continue
            try:
                value.decode()
            except UnicodeDecodeError:
                raise InputError(NOT_UTF8, source=source, line=_line(first_line, row), field=names[index],
                                 hint=NOT_UTF8_HINT) from None


def _line(first_line: int | Sequence[int], row: int) -> int:
    return first_line + row if isinstance(first_line, int) else first_line[row]


def _refuse_nul(column: Any, source: str, first_line: int | Sequence[int], name: str, skipped: set[int]) -> None:
    """A NUL byte in a value: refused as in the input's first bytes (csv_format.read), wherever it is."""
    import pyarrow.compute as pc

    found = pc.match_substring(column, "\x00")
    if not found.null_count == len(found) and pc.any(found).as_py():
        rows = [row for row, nul in enumerate(found.to_pylist()) if nul and row not in skipped]
        if rows:
            raise InputError(NOT_TEXT, source=source, line=_line(first_line, rows[0]), field=name, hint=NOT_TEXT_HINT)


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
    not_utf8 = _NOT_UTF8.search(text)
    if not_utf8 and schema is not None:
        row = not_utf8.group(2)
        return InputError(NOT_UTF8 if row else f"{where}: {NOT_UTF8}", source=source,
                          line=int(row) + line_offset if row else None, field=schema.names[int(not_utf8.group(1))],
                          hint=NOT_UTF8_HINT)
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
    width = _WIDTH.search(text)
    if width:  # a row the invalid-row handler never saw: pyarrow could not decode it (see quiet_undecodable_rows)
        return InputError(f"expected {width.group(2)} fields, got {width.group(3)}, and {NOT_UTF8}", source=source,
                          line=int(width.group(1)) + line_offset, hint=NOT_UTF8_HINT)
    if "straddling object" in text:
        block = f" of {block_size >> 20} MiB" if block_size else ""
        return InputError(f"{where}: a row longer than the CSV reader's block{block}",
                          source=source, hint="values this large need ndjson or parquet input")
    return InputError(f"{where}: {clip(text.splitlines()[0])}", source=source)
