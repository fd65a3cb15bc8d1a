"""Scored batches as JSON-ready rows: bare output values (Flama's shape) or objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from flmcli.batch import CHAIN_KEY, BadRecord
from flmcli.errors import InputError
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


class Unwritable(Exception):
    """A row orjson cannot write (a kept value nested past its 255 levels, which input may reach: 1024) under
    --on-error fail: the encoded rows before it (`written`), to be written before `error` stops the run."""

    def __init__(self, written: list[bytes], error: InputError) -> None:
        self.written = written
        self.error = error


def dump_rows(dumps: Callable[[Any], bytes], objects: list[Any], scored: Scored) -> list[bytes]:
    """Each of `objects` (the kept rows of `scored`) as JSON. A row that cannot be, named by its line and field
    rather than an "unexpected TypeError" with no place, is a bad row as --on-error says: Unwritable under fail,
    its outputs null and its error written under null, dropped under skip (`scored.unwritten`, for the report)."""
    try:
        return [dumps(value) for value in objects]
    except TypeError:
        pass  # found again below, one row at a time, with the rows before it
    kept = range(len(objects)) if scored.keep is None else [i for i, k in enumerate(scored.keep) if k]
    encoded: list[bytes] = []
    for value, index in zip(objects, kept):
        try:
            encoded.append(dumps(value))
            continue
        except TypeError as error:
            problem = _unwritable(dumps, value, scored, index, error)
        if scored.on_error == "fail":
            raise Unwritable(encoded, problem)
        n = len(scored.batch)
        errors = scored.errors = scored.errors if scored.errors is not None else [None] * n
        errors[index] = str(problem)
        if scored.on_error == "skip":
            scored.keep = scored.keep if scored.keep is not None else [True] * n
            scored.keep[index] = False
            scored.unwritten = [*(scored.unwritten or ()), index]
            continue
        # null: the outputs null and the error, as for a row the model could not score; of the kept fields, those
        # JSON can write (an id), the others null.
        outputs = {str(name) for name in scored.outputs.columns}
        if isinstance(value, dict):
            row = {name: None if name in outputs or not _dumps_ok(dumps, item) else item for name, item in value.items()}
            row["error"] = errors[index]
        else:  # a bare output (Flama's JSON shape): null, as a failed row's is
            row = None
        encoded.append(dumps(row))
    return encoded


def _unwritable(dumps: Callable[[Any], bytes], value: Any, scored: Scored, index: int, error: TypeError) -> InputError:
    field = next((name for name, item in value.items() if not _dumps_ok(dumps, item)), None) \
        if isinstance(value, dict) else None
    reason = "nested deeper than JSON output can write (255 levels)" if "ecursion" in str(error) else str(error)
    return InputError(f"a kept value is {reason}", source=scored.batch.source, line=scored.batch.line_of(index),
                      field=field, hint="drop the field from --keep/--keep-input, or write CSV")


def _dumps_ok(dumps: Callable[[Any], bytes], value: Any) -> bool:
    try:
        dumps(value)
    except TypeError:
        return False
    return True


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
