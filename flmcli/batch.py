"""The unit that flows through flm: a batch of input rows, and the same batch once scored.

Row-oriented sources (JSON, NDJSON) keep the decoded records as they came, so the
fast path is orjson -> list -> numpy object array with no per-row dict building;
columnar sources (CSV, Parquet, Arrow) keep a pyarrow Table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from .errors import InputError
    from .options import OnError


# Where a positional (array) row goes when its input is kept, `{"input": [...], "prediction": 0}`: the next model in a
# chain reads that field back as the row. It is also the key of Flama's request body, `{"input": [row, ...]}`.
CHAIN_KEY = "input"


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A row that could not even be decoded (a malformed NDJSON line), kept in place so that --on-error can
    skip it or null it like any other bad row, and so that the rows before it are scored first."""

    reason: str
    hint: str | None = None


@dataclass(slots=True)
class Batch:
    source: str  # "<stdin>" or the input's path, for error messages
    records: list[Any] | None = None  # row sources: each a list (positional) or a dict (named fields)
    table: pa.Table | None = None  # columnar sources
    # 1-based line (text) or row number (columnar) of each row; a range where they follow each other (CSV).
    lines: Sequence[int] | None = None
    first_row: int = 1  # 1-based row number of the first row in its source
    # Rows of a columnar batch that could not be parsed (a short CSV row), by index: their place in `table` is
    # held by a stand-in row that is never scored, so --on-error can skip or null them in order.
    bad: dict[int, str] | None = None
    # Typed columns parsed from text (NDJSON through Arrow): the same rows decoded row by row, for the
    # predictor to fall back on whenever the columns are not plainly the model's features.
    fallback: Callable[[], Batch] | None = None
    # The table's columns are the values of array rows by position ("0", "1", ...), not named fields.
    positional: bool = False
    # String columns of `table` as the reader had them, dictionary-encoded (Parquet's dictionary pages), by name:
    # the model's frame takes its Python strings from the dictionary instead of hashing every value again.
    dictionaries: dict[str, pa.ChunkedArray] | None = None
    # The model input made ahead for this batch (on the reader thread, while the model scores the one before),
    # and the feature spec it was made for: see features.prepare.
    prepared: tuple[Any, Any] | None = None
    # Typed columns from text: bytes of the text their fallback keeps to decode the rows from (None: not known).
    text_bytes: int | None = None

    def __len__(self) -> int:
        if self.records is not None:
            return len(self.records)
        assert self.table is not None
        return int(self.table.num_rows)

    def slice(self, start: int, length: int) -> Batch:
        """Rows start..start+length of this batch, keeping their line numbers."""
        end = start + length
        return Batch(
            source=self.source,
            records=self.records[start:end] if self.records is not None else None,
            table=self.table.slice(start, length) if self.table is not None else None,
            lines=self.lines[start:end] if self.lines is not None else None,
            first_row=self.first_row + start,
            bad={i - start: reason for i, reason in self.bad.items() if start <= i < end} if self.bad else None,
            positional=self.positional,
            dictionaries={name: column.slice(start, length) for name, column in self.dictionaries.items()}
            if self.dictionaries else None,
        )

    def line_of(self, index: int) -> int:
        return self.lines[index] if self.lines is not None else self.first_row + index


@dataclass(slots=True)
class Scored:
    """A batch and its outputs, row for row.

    `outputs` has one column per output (`prediction`, or one per class for
    predict_proba). `errors[i]` is set for a row that failed under --on-error null or skip;
    `keep[i]` is False for a row dropped under --on-error skip.
    """

    batch: Batch
    outputs: pd.DataFrame
    errors: list[str | None] | None = None
    keep: list[bool] | None = None
    # flat: the method returns one value per row (written bare in Flama's JSON shape)
    flat: bool = True
    # The error of each row that failed, by position in the batch (scored by segments: see Predictor.score).
    failures: dict[int, InputError] | None = None
    # The 2-D array `outputs` wraps, when it wraps one: row-format writers read its numbers without pandas, whose
    # per-column access costs more than the rest of a one-row answer's encoding (records.output_columns).
    array: np.ndarray | None = None
    # What a row the writer cannot write becomes (a kept value nested past JSON's limit): a bad row as any other.
    # Under skip with no bad row, `errors` and `keep` are None as under fail: this tells them apart.
    on_error: OnError = "fail"
    # Rows a writer dropped under skip (records.dump_rows), for the job to report once the batch is written.
    unwritten: list[int] | None = None

    @property
    def error_field(self) -> bool:
        """Whether what is written has flm's `error` field: under --on-error null only. Under skip, `errors` names
        the dropped rows for the report on stderr, and `keep` is set with it."""
        return self.errors is not None and self.keep is None

    def slice(self, start: int, length: int) -> Scored:
        """Rows start..start+length, with their outputs and errors (positions renumbered from 0)."""
        end = start + length
        failures = None
        if self.failures is not None:
            failures = {i - start: error for i, error in self.failures.items() if start <= i < end}
        return Scored(
            batch=self.batch.slice(start, length),
            outputs=self.outputs.iloc[start:end].reset_index(drop=True),
            errors=self.errors[start:end] if self.errors is not None else None,
            keep=self.keep[start:end] if self.keep is not None else None,
            flat=self.flat,
            failures=failures,
            array=self.array[start:end] if self.array is not None else None,
            on_error=self.on_error,
        )
