"""Scored batches as Arrow tables, for the CSV, TSV, Parquet and Arrow writers; re-batching for readers."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from flmcli.batch import CHAIN_KEY
from flmcli.errors import InputError
from flmcli.formats import keep
from flmcli.formats.records import input_objects
from flmcli.formats.registry import KeepInput

if TYPE_CHECKING:
    import pyarrow as pa

    from flmcli.batch import Batch, Scored
    from flmcli.formats.written_depth import Limit


def native(fp: BinaryIO) -> Any:
    """A regular file as a native pyarrow file, else `fp` itself.

    pyarrow reads a Python file object by calling back into Python, from its own IO threads too; a process
    leaving while such a read is queued can abort (seen once in CI on a spooled Arrow file). A native file keeps
    every read inside pyarrow (not a memory map: its pages would count in RSS as the file is read).
    """
    import os
    import stat

    import pyarrow as pa

    try:
        fd = fp.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not os.path.exists(f"/dev/fd/{fd}"):
            return fp
        return pa.OSFile(f"/dev/fd/{fd}")
    except (OSError, ValueError, AttributeError):
        return fp


def has_dictionary(kind: pa.DataType) -> bool:
    """Whether an Arrow type is dictionary-encoded, or holds a dictionary-encoded field at any depth."""
    import pyarrow as pa

    return pa.types.is_dictionary(kind) or any(has_dictionary(kind.field(i).type) for i in range(kind.num_fields))


def rebatch(
    batches: Iterable[pa.RecordBatch], size: int, schema: pa.Schema | None = None
) -> Iterator[tuple[pa.Table, int]]:
    """Tables of exactly `size` rows (the last may be shorter) with the 1-based number of their first row.

    An input of no rows that still says its columns (a CSV header, `schema`, an empty batch) is one empty table:
    the model checks its columns as it would check its rows', so a header of the wrong columns fails now, not on
    the day rows come."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    count = 0
    row = 1
    iterator = iter(batches)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            break
        except Exception:
            # A stream cut or damaged after some whole batches: the rows before the damage are scored and written
            # first, as a truncated NDJSON or CSV input's are, rather than lost with the batch being gathered.
            if count:
                yield pa.Table.from_batches(pending), row
            raise
        if batch.num_rows == 0:
            schema = schema or batch.schema
            continue
        pending.append(batch)
        count += batch.num_rows
        if count < size:
            continue
        del batch
        table = pa.Table.from_batches(pending)
        whole = count - count % size
        tables = [table.slice(start, size) for start in range(0, whole, size)]
        # Neither the gathered blocks nor the whole table are held while a table is handed on: the consumer may
        # copy it into one chunk per column (features._one_chunk) while this waits, and the blocks held here kept
        # a second copy of it alive, ~7 MiB per 64k churn rows of CSV, until the next block was read.
        pending = table.slice(whole).to_batches() if whole < count else []
        count -= whole
        del table
        while tables:
            yield tables.pop(0), row
            row += size
    if count:
        yield pa.Table.from_batches(pending), row
    elif row == 1 and schema is not None:
        yield schema.empty_table(), row


def input_table(batch: Batch, keep_input: KeepInput, *, text: bool = False) -> pa.Table:
    """The kept input fields as a table. `text`: for CSV, where a column may hold values of mixed types."""
    wanted = keep.wanted(keep_input)
    if batch.table is not None:
        return keep.select(batch.table, wanted, batch.source, batch.bad)
    assert batch.records is not None
    records = batch.records
    if records and all(isinstance(record, list) for record in records):
        if wanted is not None:
            raise keep.positional(batch.source, batch.line_of(0))
        # Positional rows have no names: input.0, input.1, ... cannot clash with outputs or class columns.
        width = max(len(record) for record in records)
        padded = [record + [None] * (width - len(record)) for record in records]
        return _table({f"{CHAIN_KEY}.{i}": list(column) for i, column in enumerate(zip(*padded))}, batch, text)
    objects = input_objects(batch, keep_input)
    # Every record's fields, in the order they first appear: pyarrow would take the first record's alone.
    names = wanted if wanted is not None else list(dict.fromkeys(key for obj in objects for key in obj))
    return _table({name: [obj.get(name) for obj in objects] for name in names}, batch, text)


def _table(columns: dict[str, list[Any]], batch: Batch, text: bool) -> pa.Table:
    import pyarrow as pa

    arrays = []
    for name, values in columns.items():
        try:
            array = pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
            if not text:
                raise _mixed(name, values, batch, exc) from None
            array = pa.array([_text(value) for value in values], type=pa.string())
        arrays.append(array)
    return pa.table(dict(zip(columns, arrays)))


def _mixed(name: str, values: list[Any], batch: Batch, exc: Exception) -> InputError:
    """A field whose values do not make one column: name it, and the first row whose type differs."""
    kinds = [type(value) for value in values if value is not None]
    first = kinds[0] if kinds else type(None)
    index = next((i for i, value in enumerate(values) if value is not None and type(value) is not first), 0)
    return InputError(
        f"holds {type(values[index]).__name__} here but {first.__name__} in earlier rows of the batch, which one "
        f"column cannot carry ({str(exc).splitlines()[0][:200]})",
        source=batch.source, line=batch.line_of(index), field=name,
        hint="give the field one type, or write ndjson/json, which keep each value as it came",
    )


def _text(value: Any) -> str | None:
    """A value as CSV text: strings as they are, everything else as JSON."""
    import orjson

    if value is None or isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits
        return str(value)


def as_text_columns(table: pa.Table) -> pa.Table:
    """CSV holds text: nested columns (lists, objects) become JSON text instead of failing the writer."""
    import pyarrow as pa

    for index, field in enumerate(table.schema):
        if pa.types.is_nested(field.type):
            values = [_text(value) for value in table.column(index).to_pylist()]
            table = table.set_column(index, field.name, pa.array(values, type=pa.string()))
    return table


def scored_table(scored: Scored, keep_input: KeepInput, *, text: bool = False) -> pa.Table:
    """Kept input columns, output columns (null on failed rows), `error` under --on-error null; skipped rows dropped."""
    import numpy as np
    import pyarrow as pa

    frame = scored.outputs
    failed = None
    if scored.errors is not None:
        failed = np.fromiter((error is not None for error in scored.errors), dtype=bool, count=len(scored.errors))
    names = [str(name) for name in frame.columns]
    arrays = []
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        if failed is not None and failed.any():
            arrays.append(pa.array(column.to_numpy(), mask=failed, from_pandas=True)
                          if column.dtype != object else pa.array([None if f else v for v, f in zip(column, failed)]))
        else:
            arrays.append(pa.array(column, from_pandas=True))
    if scored.error_field:
        names.append("error")
        arrays.append(pa.array(scored.errors, type=pa.string()))
    table = pa.table(dict(zip(names, arrays))) if names else pa.table({})
    if keep_input:
        inputs = input_table(scored.batch, keep_input, text=text)
        inputs = inputs.drop_columns([name for name in names if name in inputs.column_names])
        for name, array in zip(names, arrays):
            inputs = inputs.append_column(name, array)
        table = inputs
    if scored.keep is not None and not all(scored.keep):
        table = table.filter(pa.array(scored.keep, type=pa.bool_()))
    return table


def conform(table: pa.Table, schema: pa.Schema, batch: Batch, *, typed: bool = True) -> pa.Table:
    """A later batch in the first batch's columns (and, `typed`, its types): a columnar file has one schema."""
    import pyarrow as pa

    if table.schema.equals(schema):
        return table
    extra = [name for name in table.column_names if name not in schema.names]
    if extra:
        line = None
        if batch.records is not None:
            line = next((batch.line_of(i) for i, record in enumerate(batch.records)
                         if isinstance(record, dict) and extra[0] in record), None)
        raise InputError(
            "first appears after the output's columns were fixed by the first batch", source=batch.source,
            line=line, field=extra[0],
            hint="choose the fields with --keep, or write ndjson/json, which keep each row's own fields",
        )
    columns = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            if typed and column.type != field.type:
                try:
                    column = column.cast(field.type)
                except pa.ArrowException:
                    raise InputError(
                        f"is {column.type} in this batch but the output's column was fixed as {field.type} by the "
                        "first batch", source=batch.source, line=batch.line_of(0), field=field.name,
                        hint="give the field one type, or write ndjson/json, which keep each value as it came",
                    ) from None
            columns.append(column)
        else:
            columns.append(pa.nulls(table.num_rows, field.type if typed else pa.null()))
    if typed:
        return pa.Table.from_arrays(columns, schema=schema)
    return pa.Table.from_arrays(columns, names=schema.names)


def schema_of(table: pa.Table) -> pa.Schema:
    """The file's schema: an all-null first batch gives its columns no type, so store them as strings."""
    import pyarrow as pa

    fields = [field.with_type(pa.string()) if pa.types.is_null(field.type) else field for field in table.schema]
    return pa.schema(fields)


def encode_tables(
    scored: Iterable[Scored],
    keep_input: KeepInput,
    open_writer: Callable[[io.BytesIO, pa.Schema], Any],
    write_table: Callable[[Any, pa.Table], None],
    preamble: Callable[[pa.Schema], bytes] | None = None,
    *,
    typed: bool = True,
    direct: Callable[[Scored], tuple[pa.Schema, bytes] | None] | None = None,
    depth: Limit | None = None,
) -> Iterator[bytes]:
    """Stream tables through a pyarrow writer, handing back the bytes each batch produced.

    `typed` (Parquet, Arrow): one schema for the whole file, fixed by the first batch. Otherwise (CSV) only the
    columns are fixed, each batch is written with its own types, and nested values become JSON text; there,
    `direct(scored)` may give a batch's columns and bytes itself (the same bytes), without a table, when nothing
    but its outputs is written. `depth`: how deeply nested a kept value the file holds and reads back.
    """
    sink = io.BytesIO()
    writer = None
    schema = None

    def take() -> bytes:
        data = sink.getvalue()
        sink.seek(0)
        sink.truncate()
        return data

    for item in scored:
        made = direct(item) if direct is not None and not typed and not keep_input else None
        if made is not None and (schema is None or made[0].names == schema.names):
            if schema is None:
                schema = made[0]
                if preamble is not None:
                    sink.write(preamble(schema))
            sink.write(made[1])
            del item, made
            yield take()
            continue
        table = scored_table(item, keep_input, text=not typed)
        if depth is not None and keep_input:
            depth.check(table, item)
        if not typed:
            table = as_text_columns(table)
        if schema is None:
            schema = schema_of(table)
            if typed:
                writer = open_writer(sink, schema)
            if preamble is not None:
                sink.write(preamble(schema))
        table = conform(table, schema, item.batch, typed=typed)
        if table.num_rows:
            if typed:
                write_table(writer, table)
            else:
                batch_writer = open_writer(sink, table.schema)
                write_table(batch_writer, table)
                batch_writer.close()
        # Written: neither is held while the next batch is read and scored (one batch fewer in memory).
        del item, table
        chunk = take()
        if chunk:
            yield chunk
    if writer is not None:
        writer.close()
        chunk = take()
        if chunk:
            yield chunk

