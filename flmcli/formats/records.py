"""Scored batches as JSON-ready rows: bare output values (Flama's shape) or objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from flmcli.batch import CHAIN_KEY, BadRecord
from flmcli.formats import keep
from flmcli.formats.registry import KeepInput
from flmcli.interrupts import held

if TYPE_CHECKING:
    from flmcli.batch import Batch, Scored



def output_columns(scored: Scored) -> tuple[list[str], list[list[Any]]]:
    """Output names and values as Python lists (`tolist` turns numpy scalars into natives, fast)."""
    frame = scored.outputs
    names = [str(name) for name in frame.columns]
    array = scored.array
    if array is not None and array.dtype.kind in "biuf":
        # Numbers and booleans straight from the array the frame wraps: the same values as each column's
        # tolist(), without pandas' per-column access (most of a one-row answer's encoding in the server).
        columns = array.T.tolist()
    else:
        # items(), not iloc[:, i]: the same columns by position, without iloc's key checks
        columns = [column.tolist() for _, column in frame.items()]
    if scored.errors is not None:
        failed = [i for i, error in enumerate(scored.errors) if error is not None]
        for column in columns:
            for i in failed:
                column[i] = None
    return names, columns


def _kept(rows: list[Any], keep: list[bool] | None) -> list[Any]:
    return rows if keep is None else [row for row, flag in zip(rows, keep) if flag]


def kept_rows(scored: Scored) -> int:
    return len(scored.batch) if scored.keep is None else sum(scored.keep)


def bare_values(scored: Scored) -> list[Any]:
    """One value per row (flat outputs) or one list per row; null for a failed row."""
    _, columns = output_columns(scored)
    if scored.flat and len(columns) == 1:
        values = columns[0]
    else:
        values = [list(row) for row in zip(*columns)]
        if scored.errors is not None:
            values = [None if error is not None else row for row, error in zip(values, scored.errors)]
    return _kept(values, scored.keep)


def row_objects(scored: Scored, keep_input: KeepInput) -> list[dict[str, Any]]:
    """One object per row: kept input fields, then outputs, then `error` for a failed row."""
    names, columns = output_columns(scored)
    rows = [dict(zip(names, values)) for values in zip(*columns)]
    if not columns:
        rows = [{} for _ in range(len(scored.batch))]
    if scored.errors is not None:
        for row, error in zip(rows, scored.errors):
            if error is not None:
                row["error"] = error
    if keep_input:
        inputs = input_objects(scored.batch, keep_input)
        if scored.error_field:
            # flm's `error` (on failed rows only) replaces an input field of that name on every row, as the error
            # column does in columnar outputs: a kept "error" on a good row would read as a failure.
            inputs = [{k: v for k, v in fields.items() if k != "error"} if "error" in fields else fields
                      for fields in inputs]
        rows = [{**fields, **row} for fields, row in zip(inputs, rows)]
    return _kept(rows, scored.keep)


def input_objects(batch: Batch, keep_input: KeepInput) -> list[dict[str, Any]]:
    """The input rows as objects; a positional row becomes {"input": [...]}, which the next model reads back."""
    names = keep.wanted(keep_input)
    if batch.records is None:
        assert batch.table is not None
        return keep.select(batch.table, names, batch.source, batch.bad).to_pylist()  # type: ignore[no-any-return]
    objects: list[dict[str, Any]] = []
    for i, record in enumerate(batch.records):
        if isinstance(record, BadRecord):
            # A line that could not be read has no fields: the kept ones are null, as for a row that lacks them,
            # so every row of the output has the same keys.
            objects.append({} if names is None else dict.fromkeys(names))
        elif isinstance(record, dict):
            if names is None:
                objects.append(record)
                continue
            # A row lacking a kept field keeps it as null, as --keep-input does for a field other rows have:
            # --keep picks what to carry along, it does not check the rows (the model's own fields do that).
            objects.append({name: record.get(name) for name in names})
        elif names is None:
            objects.append({CHAIN_KEY: record})
        else:
            raise keep.positional(batch.source, batch.line_of(i))
    return objects


def write_chunks(
    encode: Callable[..., Iterator[bytes]],
    scored: Iterable[Scored],
    out: BinaryIO,
    *,
    keep_input: KeepInput,
    trailer: bytes = b"",
) -> int:
    """Write each encoded chunk as it comes and flush, so a pipe reader sees every batch at once."""
    written = 0

    def counting() -> Iterator[Scored]:
        nonlocal written
        for item in scored:
            written += kept_rows(item)
            yield item
            del item  # not held while the next batch is scored: one batch fewer in memory

    for chunk in encode(counting(), keep_input=keep_input):
        with held():  # a chunk is whole rows: Ctrl-C after it, not inside it (half a line for the reader)
            out.write(chunk)
            out.flush()
    if trailer:
        with held():
            out.write(trailer)
            out.flush()
    return written
