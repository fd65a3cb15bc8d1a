"""Turning a batch of rows into the feature matrix an estimator expects.

Positional rows (JSON arrays) are kept as one numpy object array, which is what
Flama itself feeds the model; named rows (JSON objects, CSV, Parquet, Arrow) are
mapped by the estimator's `feature_names_in_`, or by `--features`, so that extra
fields added upstream in a chain are ignored.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from .batch import CHAIN_KEY, BadRecord
from .errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from .batch import Batch



@dataclass(frozen=True, slots=True)
class FeatureSpec:
    names: tuple[str, ...] | None  # the model's feature names (or --features), in model order
    width: int | None  # n_features_in_, when known
    by_name: bool  # the estimator was fitted on named columns: give it a DataFrame
    # Positions (model order) of features trained as text whose categories CSV's type inference would read as
    # something else (text_features.read_as_text): CSV's columns for them are read as text (`read_as_text`).
    as_text: frozenset[int] = frozenset()
    # Positions (model order) of features the model never reads (unread_features): given to it as the table has
    # them, not made Python strings.
    unread: frozenset[int] = frozenset()

    @property
    def expected(self) -> int | None:
        return len(self.names) if self.names is not None else self.width


class RowError(Exception):
    """One row cannot become features: `index` is its position in the batch."""

    def __init__(self, index: int, reason: str, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason
        self.field = field
        self.hint = hint


def spec_for(estimator: Any, features: Sequence[str] | None = None) -> FeatureSpec:
    fitted = getattr(estimator, "feature_names_in_", None)
    width = getattr(estimator, "n_features_in_", None)
    names = tuple(features) if features else (tuple(str(n) for n in fitted) if fitted is not None else None)
    if features and width is not None and len(features) != width:
        raise InputError(f"--features names {len(features)} fields but the model takes {width}")
    return FeatureSpec(names=names, width=int(width) if width is not None else None, by_name=fitted is not None)


def positional(record: Any, spec: FeatureSpec) -> list[Any] | None:
    """The positional row a record stands for, or None when it is a named record."""
    if isinstance(record, list):
        return record
    chained = record.get(CHAIN_KEY) if isinstance(record, dict) else None
    if isinstance(chained, list) and (spec.names is None or CHAIN_KEY not in spec.names):
        return chained
    return None


def row_values(record: Any, index: int, spec: FeatureSpec) -> list[Any]:
    """The feature values of one record, in model order; RowError when it does not fit."""
    row = positional(record, spec)
    if row is not None:
        expected = spec.expected
        if expected is not None and len(row) != expected:
            raise RowError(index, f"expected {expected} values, got {len(row)}")
        for column, value in enumerate(row):
            if isinstance(value, (list, dict)):
                raise RowError(index, f"expected a scalar, got {type(value).__name__}", column_name(spec, column))
        return row
    if isinstance(record, dict):
        if spec.names is None:
            raise RowError(
                index,
                "the model has no feature names, so named fields cannot be mapped; "
                "send array rows or name them with --features",
            )
        values = []
        for name in spec.names:
            try:
                value = record[name]
            except KeyError:
                raise RowError(index, "missing field", name) from None
            if isinstance(value, (list, dict)):
                raise RowError(index, f"expected a scalar, got {type(value).__name__}", name)
            values.append(value)
        return values
    if isinstance(record, BadRecord):
        raise RowError(index, record.reason, hint=record.hint)
    raise RowError(index, f"a row must be a JSON array or object, got {_json_type(record)}")


def from_records(records: list[Any], spec: FeatureSpec) -> tuple[list[Sequence[Any]], list[RowError]]:
    """Feature rows (lists, or tuples from the named fast path) for the records that fit, and an error for each
    record that does not."""
    rows: list[Sequence[Any]] = []
    errors: list[RowError] = []
    expected = spec.expected
    # Fast path: every record already a list of the right length; `matrix` checks the values are scalars.
    if all(type(r) is list for r in records) and (expected is None or all(len(r) == expected for r in records)):
        return records, errors
    # Fast path for named records: one C-level lookup of every field per row. Any miss (a missing field, a
    # chained `{"input": [...]}` row, a non-object row) falls through to the row-by-row pass that names it.
    if spec.names and all(type(r) is dict for r in records):
        getter = itemgetter(*spec.names)
        try:
            picked = [getter(r) for r in records]
        except KeyError:
            pass
        else:
            return (picked if len(spec.names) > 1 else [(v,) for v in picked]), errors
    for index, record in enumerate(records):
        try:
            rows.append(row_values(record, index, spec))
        except RowError as error:
            errors.append(error)
    return rows, errors


def matrix(rows: Sequence[Sequence[Any]], spec: FeatureSpec) -> np.ndarray | pd.DataFrame:
    """The model input for feature rows in model order."""
    import numpy as np

    if not rows:
        array = np.empty((0, spec.expected or 0), dtype=object)
    else:
        array = np.array(rows, dtype=object)
        if array.ndim != 2:
            # a nested list or ragged rows: find the row at fault
            for index, row in enumerate(rows):
                row_values(row, index, spec)
            raise RowError(0, "rows of different lengths")
    return model_input(array, spec)


def model_input(array: np.ndarray, spec: FeatureSpec) -> np.ndarray | pd.DataFrame:
    """The model input for an object matrix of feature rows in model order: what `matrix` makes of those rows
    (a server that has the columns fills the matrix a column at a time, no rows to convert)."""
    if spec.by_name and spec.names is not None:
        return _typed_frame(array, spec.names)
    return array


def from_table(batch: Batch, spec: FeatureSpec) -> np.ndarray | pd.DataFrame:
    """The model input for a columnar batch (CSV, Parquet, Arrow): the one `prepare` made for it, if any."""
    prepared = _take_prepared(batch, spec)
    return prepared if prepared is not None else _from_table(batch, spec)


def _take_prepared(batch: Batch, spec: FeatureSpec) -> Any:
    """The model input `prepare` made for `spec`, if any, handed over once: the batch no longer holds it while
    the model runs."""
    prepared = batch.prepared
    if prepared is None or prepared[0] != spec:
        return None
    batch.prepared = None
    return prepared[1]


def prepare(batch: Batch, spec: FeatureSpec) -> None:
    """Make a columnar batch's model input now, on the reader thread while the model scores the batch before
    (from_table hands it over); an input that cannot be made is left for from_table to refuse, in order.

    Typed columns parsed from text (a batch with a fallback) get theirs only when they `table_fits`, for
    `text_input` to hand over; any other is left to the main thread, which falls back on the decoded rows."""
    if batch.table is None:
        return
    if batch.fallback is not None:
        try:
            batch.prepared = (spec, text_table_input(batch, spec)) if table_fits(batch, spec) else None
        except Exception:  # noqa: BLE001 - made again on the main thread, whose errors decide
            batch.prepared = None
        return
    try:
        batch.prepared = (spec, _from_table(batch, spec))
    except Exception:  # noqa: BLE001 - from_table raises it again, on the main thread, when the batch's turn comes
        batch.prepared = None


def _from_table(batch: Batch, spec: FeatureSpec) -> np.ndarray | pd.DataFrame:
    table = batch.table
    assert table is not None
    names = table.column_names
    if spec.names is not None:
        present = set(names)
        missing = [name for name in spec.names if name not in present]
        if missing:
            raise InputError("missing column", source=batch.source, field=missing[0],
                             hint=_separator_hint(names))
        if len(present) < len(names):
            twice = [name for name in spec.names if names.count(name) > 1]
            if twice:
                raise InputError(f"the input has {names.count(twice[0])} columns of this name",
                                 source=batch.source, field=twice[0])
        del table  # not held while _one_chunk lets each column's chunks go as it copies it
        table = _one_chunk(batch, {names.index(name) for name in spec.names}).select(list(spec.names))
    elif spec.width is not None and table.num_columns != spec.width:
        raise InputError(
            f"the model takes {spec.width} unnamed features but the input has {table.num_columns} columns; "
            "choose and order them with --features",
            source=batch.source,
        )
    else:
        del table
        table = _one_chunk(batch, range(len(names)))
    _refuse_nested(table, batch.source)
    frame = table.to_pandas(split_blocks=True)
    if spec.by_name:
        return _object_strings(table, frame, batch.dictionaries, spec.unread if spec.names is not None else frozenset())
    return frame.to_numpy(dtype=object)


def _one_chunk(batch: Batch, wanted: Iterable[int]) -> pa.Table:
    """The batch's table with the columns at `wanted` in one chunk each (a copy, in place of the batch's table): the
    model's frame then views their numbers where they are (to_pandas(split_blocks=True)) instead of copying them, so
    a batch waiting to be scored holds its values once, not twice. Only those the model takes: a wide input's other
    columns are not copied (each was, ~0.15 ms per 64k-row int64 column on the reader thread).

    Column by column, each one's chunks let go as soon as it is copied (where nothing else holds them), rather than
    the whole table held until the last column is: on the reader thread, beside the batch being scored, a 64k-row
    churn CSV batch held 7.3 MiB twice."""
    import pyarrow as pa

    table = batch.table
    assert table is not None
    columns = table.columns
    split = [index for index in wanted if columns[index].num_chunks > 1]
    if not split:
        return table
    schema = table.schema
    batch.table = None
    del table
    try:
        for index in split:
            columns[index] = pa.chunked_array([columns[index].combine_chunks()], type=columns[index].type)
    finally:
        batch.table = pa.Table.from_arrays(columns, schema=schema)
    return batch.table


def read_as_text(spec: FeatureSpec, header: Sequence[str]) -> frozenset[str]:
    """The columns of a CSV header that are read as text for `spec`: its features of categories that CSV's type
    inference would misread (`FeatureSpec.as_text`), by name, or by position when the model has no names and the
    header has one column per feature (as from_table maps them)."""
    if not spec.as_text:
        return frozenset()
    if spec.names is not None:
        return frozenset(spec.names[position] for position in spec.as_text)
    if spec.width is not None and len(header) == spec.width:
        return frozenset(header[position] for position in spec.as_text)
    return frozenset()


def _separator_hint(names: list[str]) -> str | None:
    """A header of one column holding ';' or '|' is a file separated by it, which flm does not read as CSV."""
    if len(names) != 1:
        return None
    for separator in (";", "|"):
        if separator in names[0]:
            return (f"the header looks separated by {separator!r}; flm reads CSV separated by commas and TSV by tabs "
                    f"(tr '{separator}' ',' < FILE, when no value holds a comma)")
    return None


def _refuse_nested(table: pa.Table, source: str) -> None:
    """A list, struct or map column holds no value a model takes: name it, as a nested JSON value is named."""
    import pyarrow as pa

    for field in table.schema:
        if pa.types.is_nested(field.type):
            raise InputError(f"a column of nested values ({field.type}); the model takes plain values",
                             source=source, field=field.name)


def _object_strings(
    table: pa.Table, frame: pd.DataFrame, dictionaries: dict[str, pa.ChunkedArray] | None = None,
    unread: frozenset[int] = frozenset(),
) -> pd.DataFrame:
    """`frame` with each string column that has no nulls as Python strings, one object per distinct value.

    scikit-learn turns pandas' Arrow-backed strings into Python objects itself, a new one per value, on every
    call, and hashes each (OneHotEncoder, SimpleImputer): decoding the column's dictionary instead creates each
    distinct string once, and a repeated object's hash is cached. ~30% less model CPU on churn's categorical
    columns (bench/bench_columnar.py). A column with nulls is left as it was: those are NaN to the model there,
    None in an object column. `dictionaries`: the columns as the reader had them dictionary-encoded (Parquet),
    whose dictionary is used as it is rather than hashing every value again. `unread`: positions of columns the
    model never reads (FeatureSpec.unread), left as pandas made them."""
    import pandas as pd
    import pyarrow as pa

    strings = []
    for index, column in enumerate(table.columns):
        if index in unread:
            continue
        kind = column.type
        if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and not column.null_count:
            encoded = dictionaries.get(table.column_names[index]) if dictionaries else None
            values = _dictionary_strings(encoded) if encoded is not None else None
            if values is None:
                values = column.dictionary_encode().to_numpy(zero_copy_only=False)
            # dtype=object: pandas would otherwise infer its string dtype again.
            frame.isetitem(index, pd.Series(values, dtype=object, index=frame.index, copy=False))
            strings.append(index)
    _mark_strings(frame, strings)
    return frame


# Frames made here, by id, with the positions of their columns that hold nothing but Python strings (made from
# an Arrow string column without nulls): the model's text check (text_features.first_not_text) has nothing to
# find there. Weak: an entry goes with its frame, so a later frame given the same id is never taken for it.
_STRINGS: dict[int, tuple[weakref.ref[Any], frozenset[int]]] = {}


def _mark_strings(frame: Any, positions: Sequence[int]) -> None:
    if not positions:
        return
    key = id(frame)

    def forget(_: object, key: int = key) -> None:
        _STRINGS.pop(key, None)

    _STRINGS[key] = (weakref.ref(frame, forget), frozenset(positions))


def string_columns(X: Any) -> frozenset[int]:
    """Positions of X's columns known to hold Python strings only (no nulls): those of a frame this module made
    from a table's string columns, X itself and not a part or a copy of it; none for anything else."""
    entry = _STRINGS.get(id(X))
    if entry is None or entry[0]() is not X:
        return frozenset()
    return entry[1]


def _dictionary_strings(column: pa.ChunkedArray) -> np.ndarray | None:
    """A dictionary-encoded string column without nulls as an object array, each dictionary entry that a row uses
    made a Python string once; None when it cannot be taken as it is (nulls, a dictionary of nulls or of more
    entries than rows: then its used entries are found by hashing the values, as for any string column)."""
    import numpy as np

    parts: list[np.ndarray] = []
    for chunk in column.chunks:
        dictionary = chunk.dictionary
        if chunk.null_count or dictionary.null_count or len(dictionary) > max(len(chunk), 1):
            return None
        indices = chunk.indices.to_numpy()
        # Only the entries in use become Python strings: what they hold is bounded by the rows' own values.
        used = np.flatnonzero(np.bincount(indices, minlength=len(dictionary)))
        strings = np.empty(len(dictionary), dtype=object)
        strings[used] = dictionary.take(used).to_numpy(zero_copy_only=False)
        parts.append(strings[indices])
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.empty(0, dtype=object)


def table_fits(batch: Batch, spec: FeatureSpec) -> bool:
    """Whether a table parsed from text rows holds the model's features as plain columns: every named field
    present in every row (Arrow cannot tell a missing field from a null, so no nulls), each of one scalar type;
    array rows (`Batch.positional`) as many values as the model takes. Anything else is for `row_values` to
    judge, row by row."""
    import pyarrow as pa

    table = _by_feature(batch, spec)
    if table is None or (not batch.positional and spec.names is None):
        return False
    if len(set(table.column_names)) != table.num_columns:
        return False
    for name in spec.names if spec.names is not None else table.column_names:
        if name not in table.column_names:
            return False
        column = table.column(name)
        kind = column.type
        plain = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or (
            pa.types.is_string(kind) or pa.types.is_large_string(kind))
        if not plain or column.null_count:
            return False
    return True


def _by_feature(batch: Batch, spec: FeatureSpec) -> pa.Table | None:
    """The batch's table; array rows' columns named as the model's features (None if their count is not its)."""
    table = batch.table
    if table is None or not batch.positional:
        return table
    if spec.expected is not None and table.num_columns != spec.expected:
        return None
    return table.rename_columns(list(spec.names)) if spec.names is not None else table


def text_input(batch: Batch, spec: FeatureSpec) -> np.ndarray | pd.DataFrame | None:
    """The model input for typed columns parsed from text: the one `prepare` made for `spec` (handed over once),
    else made now; None unless the table `table_fits`."""
    prepared = _take_prepared(batch, spec)
    if prepared is not None:
        return prepared
    return text_table_input(batch, spec) if table_fits(batch, spec) else None


def text_table_input(batch: Batch, spec: FeatureSpec) -> np.ndarray | pd.DataFrame:
    """The model input for a table that `table_fits`: numbers as numpy columns, strings as the Python objects
    the row-by-row path gives the model (pandas' Arrow-backed strings would be converted again, per call), one
    object per distinct value, as `_object_strings` makes them: fewer made, and each hashed once by the model's
    encoders (equal values, so the same outputs)."""
    import pandas as pd
    import pyarrow as pa

    table = _by_feature(batch, spec)
    assert table is not None
    if not spec.by_name or spec.names is None:
        frame = table.to_pandas() if spec.names is None else table.select(list(spec.names)).to_pandas()
        return frame.to_numpy(dtype=object)
    columns: dict[str, Any] = {}
    text = []
    for position, name in enumerate(spec.names):
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):  # no nulls: table_fits
            if position in spec.unread:  # never read by the model: as pandas makes it
                columns[name] = column.to_pandas()
                continue
            strings = column.dictionary_encode().to_numpy(zero_copy_only=False)
            columns[name] = pd.Series(strings, dtype=object, copy=False)
            text.append(position)
        else:
            columns[name] = column.to_numpy()
    frame = pd.DataFrame(columns, copy=False)
    if len(columns) == len(spec.names):  # by position: not when a name came twice
        _mark_strings(frame, text)
    return frame


def _typed_frame(array: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    if not NUMERIC_COLUMNS or len(array) < 2:
        return pd.DataFrame(array, columns=list(names), copy=False)
    # A column of plain numbers becomes an int64 or float64 column (Arrow's C conversion, with no nulls): the
    # model then skips converting Python objects value by value, ~1.8x faster on the churn pipeline. Strings and
    # anything mixed stay Python objects, so scikit-learn sees (and words its errors about) what it always did.
    columns = {name: _numeric(array[:, j]) for j, name in enumerate(names)}
    # dtype=object: pandas would otherwise infer its string dtype for a column of strings.
    return pd.DataFrame({name: column if column.dtype != object else pd.Series(column, dtype=object, copy=False)
                         for name, column in columns.items()}, copy=False)


# Whether decoded rows get typed numeric columns (tests/formats compares both ways byte for byte).
NUMERIC_COLUMNS = True


def _numeric(column: np.ndarray) -> np.ndarray:
    import pyarrow as pa

    first = column[0]
    if first.__class__ is not int and first.__class__ is not float:
        return column
    try:
        converted = pa.array(column)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        return column
    kind = converted.type
    if converted.null_count or not (pa.types.is_int64(kind) or pa.types.is_float64(kind)):
        return column
    return converted.to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def column_name(spec: FeatureSpec, column: int) -> str:
    """The name of a feature by position: its name, else `#<position>`."""
    if spec.names is not None and column < len(spec.names):
        return spec.names[column]
    return f"#{column}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(type(value), type(value).__name__)
