"""CSV from a live pipe (`tail -f scores.csv | flm predict`): rows as they arrive, flushed when the producer pauses.

pyarrow's streaming reader waits for a whole block, so live input is cut at line ends here and each run of
complete lines is parsed with the column types of the first one, widened where a later run's values need it
(csv_types: `42.5` or `abc` after whole numbers, a value in a column empty so far), as on the bulk path. A quoted
field spanning lines is not supported on this path. Short and long rows are bad rows in place, as on the bulk
path: --on-error decides.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flmcli.batch import Batch
from flmcli.formats import csv_types
from flmcli.formats.chunks import ChunkSource, Pause
from flmcli.formats.csv_errors import check_text, header_names, quiet_undecodable_rows, read_error
from flmcli.formats.detection import refuse_compressed
from flmcli.formats.registry import AsText

if TYPE_CHECKING:
    import pyarrow as pa


def read(
    chunks: ChunkSource, *, source: str, batch_size: int, max_delay: float, delimiter: str,
    as_text: AsText | None = None,
) -> Iterator[Batch]:
    import pyarrow as pa

    header = b""
    schema: pa.Schema | None = None
    text_types: dict[str, pa.DataType] | None = None  # the columns read as text (as_text), until `schema` is known
    pending: list[pa.Table] = []
    count = 0
    row = 1  # 1-based data row of the first pending row
    bad: dict[int, str] = {}  # data row number -> reason, for the stand-in rows not yet handed on
    tail = b""
    pause = Pause(chunks, max_delay)
    # Whether any text read so far held a NUL byte: until one did, no value holds one and check_text need not
    # search each string value (as csv_format._ShortReads.nul; ~0.1 CPU-s per 3M churn rows from a pipe).
    nul = False
    quiet_undecodable_rows()

    def parse(lines: bytes) -> None:
        nonlocal schema, count, text_types
        first = row + count  # the data row number of the text's first row
        if schema is None and text_types is None:
            text_types = _as_text(header, source, delimiter, as_text)
        table, invalid = _parse(header + lines, source, delimiter, schema or text_types or None, first)
        if schema is None and table.num_rows > len(invalid):
            schema = table.schema  # from the first good rows: a run of short rows alone would type every column null
        elif schema is not None and not table.schema.equals(schema):
            schema = table.schema  # widened for this run's values: the runs after it are read so too
        for index, reason in invalid:
            bad[first + index] = reason
        if not pending:
            pause.restart()
        pending.append(table)
        count += table.num_rows

    def take(size: int) -> Batch:
        """A batch of up to `size` pending rows: fewer when a run's columns were widened, whose rows are not
        made one table with the rows typed before (as on the bulk path)."""
        nonlocal pending, count, row
        # Tables of one schema as they are: promoting types cannot unify a header naming two columns alike.
        same = all(table.schema.equals(pending[0].schema) for table in pending[1:])
        rest: list[pa.Table] = []
        try:
            whole = pa.concat_tables(pending, promote_options="none" if same else "default")
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column widened past a null one (int64, then double)
            run = next(i for i, table in enumerate(pending) if not table.schema.equals(pending[0].schema))
            whole, rest = pa.concat_tables(pending[:run]), pending[run:]
            size = min(size, whole.num_rows)
        batch = _batch(whole.slice(0, size), source, row, {r - row: bad.pop(r) for r in sorted(bad) if r < row + size},
                       nul)
        row += size
        count -= size
        pending = ([whole.slice(size)] if size < whole.num_rows else []) + rest
        return batch

    while data := chunks.read():
        nul = nul or b"\0" in data  # before any row made from it is checked
        if not header and not tail:
            refuse_compressed(data, source)  # --from csv on stdin is not detected, so not checked there
        text = tail + data
        end = text.rfind(b"\n") + 1
        complete, tail = text[:end], text[end:]
        if not header:
            # The header is the first line that is not empty (pyarrow skips empty lines), once its line end has
            # come: a producer may write it in parts.
            complete = _BLANK_LINES.sub(b"", complete)  # lines of spaces too (csv_format._AfterBlankLines)
            if not complete:
                continue
            header, _, complete = complete.partition(b"\n")
            header += b"\n"
        if complete.strip():
            parse(complete)
        while count >= batch_size or pause.due(count):
            yield take(min(count, batch_size))
            pause.restart()
    if not header and tail.strip():  # one line and no line end: a header alone
        header, tail = tail + b"\n", b""
    if tail.strip():
        parse(tail)
    while count:
        yield take(count)
    if not count and row == 1 and header.strip():
        # A header and no rows: its columns are checked as rows' would be (as on the bulk path: columnar.rebatch).
        yield _batch(_parse(header, source, delimiter, schema or _as_text(header, source, delimiter, as_text) or None,
                            1)[0], source, 1, {}, nul)


_BLANK_LINES = re.compile(rb"\A(?:[ \t]*(?:\r\n?|\n))+")


def _as_text(header: bytes, source: str, delimiter: str, as_text: AsText | None) -> dict[str, pa.DataType]:
    """The header's columns read as text, as column types for pyarrow."""
    import pyarrow as pa

    if as_text is None:
        return {}
    names = header_names(_parse(header, source, delimiter, None, 1)[0].schema, source)
    return dict.fromkeys(as_text(names), pa.string())


def _parse(
    text: bytes, source: str, delimiter: str, schema: pa.Schema | dict[str, pa.DataType] | None, first: int
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The rows of `text` (a header line, then complete lines) in `schema`'s types, with a stand-in row wherever a
    row had too few or too many fields, and those rows' (index, reason): bad rows as on the bulk CSV path."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    invalid: list[tuple[int, str]] = []

    def on_invalid(bad: Any) -> str:
        # One thread (below), so pyarrow numbers the row: the header is row 1 of the text.
        invalid.append((bad.number - 2, f"expected {bad.expected_columns} fields, got {bad.actual_columns}"))
        return "skip"

    while True:
        try:
            table = pacsv.read_csv(
                io.BytesIO(text),
                read_options=pacsv.ReadOptions(use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(column_types=schema) if schema is not None else None,
            )
            break
        except pa.ArrowInvalid as exc:
            wider = _widened(exc, text, delimiter, schema)
            if wider is not None:
                schema = wider
                invalid.clear()
                continue
            # pyarrow's row numbers count from this text's header; the text's first data row is line first + 1.
            if isinstance(schema, dict):  # only some types known: the columns' names are the header's
                schema = pacsv.read_csv(io.BytesIO(text.partition(b"\n")[0] + b"\n")).schema
            raise read_error(exc, source, first - 1, schema, line_offset=first - 1) from None
    if not invalid:
        return table, invalid
    if table.num_rows:
        stand_in = table.slice(0, 1)  # a copy of a good row keeps every column's type; it is never scored
    else:
        stand_in = pa.table([pa.nulls(1, field.type) for field in table.schema], schema=table.schema)
    pieces = []
    done = taken = 0  # rows placed, good rows of `table` placed
    for index, _ in invalid:
        if index > done:
            pieces.append(table.slice(taken, index - done))
            taken += index - done
        pieces.append(stand_in)
        done = index + 1
    pieces.append(table.slice(taken))
    return pa.concat_tables(pieces), invalid


def _batch(table: pa.Table, source: str, first_row: int, bad: dict[int, str], nul: bool = True) -> Batch:
    lines = range(first_row + 1, first_row + 1 + table.num_rows)  # the header is line 1
    check_text(table, source, first_row + 1, bad, nul=nul)
    return Batch(source=source, table=table, lines=lines, first_row=first_row, bad=bad or None)


def _widened(exc: Exception, text: bytes, delimiter: str,
             schema: pa.Schema | dict[str, pa.DataType] | None) -> pa.Schema | None:
    """The column types that read `text` (a header, then whole rows) where `schema`'s could not: the columns the
    run's values need widened (csv_types), or, before the first rows' types are known, inferred from all its rows
    rather than from its first block's; None when it is no value out of its column's type."""
    import pyarrow as pa

    failed = csv_types.clash(exc)
    if failed is None:
        return None
    if isinstance(schema, pa.Schema):
        return csv_types.widened(text, schema, failed, delimiter=delimiter, names=None)
    try:
        inferred = csv_types.parse(text, delimiter=delimiter, names=None, types=schema).schema
    except (pa.ArrowException, ValueError):
        return None
    if len(set(inferred.names)) < len(inferred.names):
        return None
    return inferred
