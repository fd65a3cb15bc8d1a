"""Rows that came as columns (v2 column tensors), kept as one numpy object matrix instead of a Python list per row.

A v2 request of n rows arrives as one list per column; the model takes the object matrix the predictor would
build of the same rows (`features.matrix`), which is filled here a column at a time. Making n row lists from it
only to have the predictor make the matrix again cost more than reading the request, and n row lists are n
objects for the garbage collector to traverse while the request is alive (about one young collection per
1,000-row request). So the rows stay a matrix: the model input is made of it on the model's thread
(`prepare`), and the rows as lists are made only when the model refuses the batch, to find and name the bad
row as for any other rows (`Batch.fallback`, which the predictor takes when the prepared input fails).

Batches of a few rows stay row lists (bodies.records_batches): they may be scored on the event loop
(Batcher._inline), where one model call is all that is made, and a failing column batch makes two.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import features
from ..batch import Batch

if TYPE_CHECKING:
    from ..features import FeatureSpec


@dataclass(slots=True)
class ColumnBatch(Batch):
    """Rows as an object matrix (rows x features, model order). `fallback` gives the same rows as lists."""

    matrix: Any = None

    def __len__(self) -> int:
        return len(self.matrix)

    def slice(self, start: int, length: int) -> Batch:
        end = start + length
        lines = self.lines[start:end] if self.lines is not None else None
        return column_batch(self.matrix[start:end], self.source, self.first_row + start, lines)

    def prepare(self, spec: FeatureSpec) -> None:
        """The model input for `spec`, which the predictor takes (features.text_input) instead of the rows."""
        self.prepared = (spec, features.model_input(self.matrix, spec))


def column_batch(matrix: Any, source: str, first_row: int = 1, lines: Sequence[int] | None = None) -> ColumnBatch:
    # A partial, not a bound method: the batch does not refer to itself (no reference cycle to collect).
    rows = functools.partial(_rows, matrix, source, first_row, lines)
    return ColumnBatch(source=source, first_row=first_row, lines=lines, fallback=rows, matrix=matrix)


def _rows(matrix: Any, source: str, first_row: int, lines: Sequence[int] | None) -> Batch:
    return Batch(source=source, records=matrix.tolist(), first_row=first_row, lines=lines)


def batches(matrix: Any, source: str, size: int) -> list[Batch]:
    """The matrix's rows in batches of at most `size` rows, numbered from 1 across them."""
    size = max(1, size)
    return [column_batch(matrix[start : start + size], source, start + 1) for start in range(0, len(matrix), size)]


def merge(batches: list[ColumnBatch]) -> ColumnBatch:
    """One batch of several requests' rows, each row keeping its own request's row number for its error."""
    import numpy as np

    lines = [batch.line_of(i) for batch in batches for i in range(len(batch))]
    return column_batch(np.concatenate([batch.matrix for batch in batches]), batches[0].source, lines=lines)
