"""Features the model never reads: the columns a ColumnTransformer in front of it drops.

A pipeline trained on a whole table often drops some of its columns (churn drops RowNumber, CustomerId and
Surname: `remainder='drop'`). The model still wants them by name (scikit-learn checks the names it was fitted
on), but never looks at their values, so flm need not make them what the model would read: Python strings from a
text column cost the reader thread ~3 ms per 64k-row batch for churn's Surname (~0.05 CPU-s per 1M rows), under
the GIL, beside the model.
"""

from __future__ import annotations

from typing import Any

from .text_features import first_step, positions


def unread(estimator: Any, names: tuple[str, ...] | None, width: int | None) -> frozenset[int]:
    """Positions (model order) of the features whose values the estimator never reads: those of its first step,
    a fitted ColumnTransformer, that no transformer takes ("drop", its remainder dropped). None are when
    anything is not plain: a selection that cannot be resolved to positions (a slice), an unfitted transformer."""
    if width is None or width <= 0:
        return frozenset()
    first = first_step(estimator)
    if type(first).__name__ != "ColumnTransformer":
        return frozenset()
    fitted = getattr(first, "transformers_", None)
    if not isinstance(fitted, list) or not fitted:
        return frozenset()
    read: set[int] = set()
    for entry in fitted:
        if not isinstance(entry, tuple) or len(entry) != 3:
            return frozenset()
        _, transformer, columns = entry
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if _empty(columns):
            continue
        at = positions(columns, names, width)
        if at is None:
            return frozenset()
        read.update(at)
    return frozenset(range(width)) - read


def _empty(columns: Any) -> bool:
    """An empty selection (a transformer given no column is never called)."""
    if isinstance(columns, (list, tuple)):
        return not columns
    size = getattr(columns, "size", None)
    return isinstance(size, int) and size == 0
