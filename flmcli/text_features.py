"""Features a model was trained on as text: a number or a boolean there is refused, naming row and column.

An encoder fitted on strings (OneHotEncoder, OrdinalEncoder, TargetEncoder), alone or behind imputers, as the
first step or in a ColumnTransformer, holds text categories: `5` for churn's Geography can never be one, so
`handle_unknown='ignore'` scored it as "none of them", silently, with the probabilities of an unknown country.
That is almost always an upstream bug (a label-encoded column), so it is a bad row like any other, in every
format and in serve. Text that is not a category (`"Mars"`) is still the model's to judge. Missing values
(null, NaN) too: an imputer may fill them.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from .errors import clip

_ENCODERS = frozenset({"OneHotEncoder", "OrdinalEncoder", "TargetEncoder"})
# Steps that leave a column's values as they are (an imputer fills only the missing ones).
_KEEP_VALUES = frozenset({"SimpleImputer", "MissingIndicator"})

TextFeatures = tuple[tuple[int, tuple[str, ...]], ...]  # (position in model order, some of its categories)


def first_step(estimator: Any) -> Any:
    """The first step of a Pipeline, of nested Pipelines: what sees the model's input columns."""
    while type(estimator).__name__ == "Pipeline" and getattr(estimator, "steps", None):
        estimator = estimator.steps[0][1]
    return estimator


def positions(columns: Any, names: tuple[str, ...] | None, width: int) -> list[int] | None:
    """A ColumnTransformer's column selection as positions in model order; None when it cannot be resolved."""
    if isinstance(columns, (str, int)):
        columns = [columns]
    if not isinstance(columns, (list, tuple)) and hasattr(columns, "tolist"):
        columns = columns.tolist()
    if not isinstance(columns, (list, tuple)) or not columns:
        return None
    if all(isinstance(c, bool) for c in columns):
        return [i for i, c in enumerate(columns) if c] if len(columns) == width else None
    if all(isinstance(c, int) for c in columns):
        return [c % width for c in columns] if all(-width <= c < width for c in columns) else None
    if names is not None and all(isinstance(c, str) for c in columns):
        index = {name: i for i, name in enumerate(names)}
        return [index[c] for c in columns] if all(c in index for c in columns) else None
    return None


def trained_as_text(estimator: Any, names: tuple[str, ...] | None, width: int | None) -> TextFeatures:
    if width is None:
        return ()
    first = first_step(estimator)
    found: dict[int, tuple[str, ...]] = {}
    if type(first).__name__ == "ColumnTransformer":
        for _, transformer, columns in getattr(first, "transformers_", []):
            if isinstance(transformer, str):  # "drop", "passthrough"
                continue
            at = positions(columns, names, width)
            if at is not None:
                found.update((p, c) for p, c in zip(at, _categories(transformer, len(at))) if c)
    else:
        found.update((p, c) for p, c in enumerate(_categories(first, width)) if c)
    return tuple(sorted(found.items()))


def _categories(transformer: Any, count: int) -> list[tuple[str, ...]]:
    """Per column the transformer reads: its encoder's categories when they are all text, else ()."""
    steps = getattr(transformer, "steps", None) if type(transformer).__name__ == "Pipeline" else None
    chain = [step for _, step in steps] if steps else [transformer]
    encoder = None
    for step in chain:
        kind = type(step).__name__
        if kind in _ENCODERS:
            encoder = step
            break
        if kind not in _KEEP_VALUES:
            return [()] * count
    categories = getattr(encoder, "categories_", None)
    if not isinstance(categories, list) or len(categories) != count:
        return [()] * count
    out: list[tuple[str, ...]] = []
    for values in categories:
        present = [v for v in getattr(values, "tolist", lambda: [])() if not _missing(v)]
        out.append(tuple(present) if present and all(isinstance(v, str) for v in present) else ())
    return out


def read_as_text(text: TextFeatures) -> frozenset[int]:
    """Positions of the features some of whose categories CSV's type inference reads as something else than
    their text: a number ("02139", "7", "1.50"), a boolean ("true"), a date or time, a missing value ("NA", "").
    A CSV column there is read as text, so that every value is the text as written: "02139" stays "02139" (an
    integer column gave "2139", another category, or none). A feature of word categories only (churn's Gender)
    keeps its column's inferred type, so that 0 and 1 there stay numbers, refused as a label-encoded column.

    pyarrow itself judges, with the CSV reader's own options, on a one-row CSV of one column per category."""
    import csv
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    cells = [(position, category) for position, categories in text for category in categories]
    if not cells:
        return frozenset()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(range(len(cells)))
    writer.writerow(category for _, category in cells)
    schema = pacsv.read_csv(io.BytesIO(out.getvalue().encode("utf-8", "surrogatepass")),
                            read_options=pacsv.ReadOptions(use_threads=False, block_size=max(1 << 20, out.tell() * 2)),
                            ).schema
    return frozenset(position for (position, _), field in zip(cells, schema, strict=True)
                     if not pa.types.is_string(field.type))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def first_not_text(X: Any, text: TextFeatures, strings: Container[int] = ()) -> tuple[int, int, str] | None:
    """(row, position, reason) of the first value of X (the model's input, in model order) that is neither
    text nor missing in a feature trained as text; None when there is none. `strings`: positions known to hold
    strings only (features.string_columns), not looked at: ~0.02 CPU-s of the main thread per 1M churn rows,
    ~3% of a CSV or Parquet run net of start-up."""
    import pandas as pd
    from pandas.api.types import infer_dtype

    for position, categories in text:
        if position in strings:
            continue
        column = X.iloc[:, position] if hasattr(X, "iloc") else X[:, position]
        if isinstance(getattr(column, "dtype", None), pd.CategoricalDtype):
            if infer_dtype(column.cat.categories, skipna=True) in ("string", "empty"):
                continue
            column = column.astype(object)
        elif infer_dtype(column, skipna=True) in ("string", "empty"):  # ~20 ns a value, in C
            continue
        for row, value in enumerate(column.tolist()):
            if not isinstance(value, str) and not _missing(value) and value is not pd.NA:
                return row, position, _reason(value, categories)
    return None


def _reason(value: Any, categories: tuple[str, ...]) -> str:
    examples = ", ".join(repr(c) for c in categories[:3]) + (", ..." if len(categories) > 3 else "")
    if isinstance(value, bool):
        got = f"the boolean {str(value).lower()}"
    elif isinstance(value, (int, float)):
        got = f"the number {clip(repr(value))}"
    else:
        got = f"{type(value).__name__} {clip(repr(value))}"
    return f"expected text (the model was trained on categories: {examples}), got {got}"
