"""What runs on a Dask worker: the model, shipped once per worker, and one partition scored by the core Predictor.

The client sends the FLM bytes inside a worker plugin named by their sha256; the scheduler hands the plugin
to every worker that is or later joins the cluster (a restarted one too), so tasks carry only the digest.
Each worker process audits and unpickles the model once, with the client's trust options, on first use.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from distributed import WorkerPlugin

from ..errors import ExitStatus, FlmError, InputError

if TYPE_CHECKING:
    import pandas as pd

    from ..batch import Batch, Scored
    from ..flm.model import ModelFile
    from ..formats.registry import AsText
    from ..options import PredictOptions
    from ..predictor import Predictor

# Rows per model call inside a partition of rows already in memory: the local default for columnar inputs.
BATCH_ROWS = 65536

_PAYLOADS: dict[str, bytes] = {}
_MODELS: dict[tuple[str, tuple[str, ...], bool], Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class ModelRef:
    """What a task needs to find its model on a worker: no path, no bytes."""

    sha256: str
    name: str  # the client's file name, for messages
    size: int
    trust: tuple[str, ...] = ()
    trust_all: bool = False


class ModelPlugin(WorkerPlugin):
    """Carries the FLM bytes to each worker once; the name makes registering it twice a no-op."""

    idempotent = True

    def __init__(self, ref: ModelRef, data: bytes) -> None:
        self.ref = ref
        self.data = data
        self.name = plugin_name(ref.sha256)

    def setup(self, worker: Any) -> None:
        _PAYLOADS[self.ref.sha256] = self.data


def plugin_name(sha256: str) -> str:
    return f"flm-model-{sha256[:16]}"


def read_model(path: str | os.PathLike[str], trust: Sequence[str] = (), trust_all: bool = False) -> tuple[ModelRef, bytes]:
    from ..errors import ModelFileError

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ModelFileError(f"cannot read the model file: {exc.strerror or exc}", path=os.fspath(path)) from None
    ref = ModelRef(hashlib.sha256(data).hexdigest(), os.fspath(path), len(data), tuple(trust), trust_all)
    return ref, data


def offer(ref: ModelRef, data: bytes) -> None:
    """Make the model available in this process (a scheduler without workers of its own: threads, sync)."""
    _PAYLOADS[ref.sha256] = data


class RemoteError(Exception):
    """An flm error raised on a worker, in a form that survives pickling back to the client."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = int(ExitStatus.ERROR)) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteError, (self.message, self.hint, self.exit_code))


class RowFailure(Exception):
    """A bad row under --on-error fail; its line is partition-relative until the client knows the offset."""

    def __init__(self, line: int, reason: str, field: str | None, hint: str | None) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason
        self.field = field
        self.hint = hint

    def __reduce__(self) -> tuple[Any, ...]:
        return (RowFailure, (self.line, self.reason, self.field, self.hint))


def _where() -> str:
    try:
        from distributed import get_worker

        return f"worker {get_worker().address}"
    except ValueError:
        return "this process"


def model_for(ref: ModelRef) -> ModelFile:
    """The audited model, loaded once per process (an audit failure is remembered too)."""
    from ..flm import loads

    key = (ref.sha256, ref.trust, ref.trust_all)
    with _LOCK:
        found = _MODELS.get(key)
        if found is None:
            data = _PAYLOADS.get(ref.sha256)
            if data is None:
                found = RemoteError(f"{ref.name}: the model was not sent to {_where()}", exit_code=int(ExitStatus.MODEL))
            else:
                try:
                    model = loads(data, path=ref.name, trust=ref.trust, trust_all=ref.trust_all)
                    model.estimator  # noqa: B018 - unpickle (and so audit) now, once, not in the first task's timing
                    found = model
                except FlmError as error:
                    found = RemoteError(f"on {_where()}: {error}", error.hint, int(error.exit_code))
            _MODELS[key] = found
    if isinstance(found, RemoteError):
        raise found
    loaded: ModelFile = found
    return loaded


def predictor_for(ref: ModelRef, options: PredictOptions) -> Predictor:
    """The core Predictor for a task, as `flm predict` builds it from the same options (the model's trust
    options travel in `ref`: the model was audited with them on this worker)."""
    from ..predictor import Predictor

    try:
        return Predictor(model_for(ref), method=options.method, features=options.features,
                         output_name=options.output_name, on_error=options.on_error)
    except FlmError as error:
        raise RemoteError(str(error), error.hint, int(error.exit_code)) from None


def frame_batches(frame: pd.DataFrame, source: str, first_line: int) -> Iterator[Batch]:
    """A pandas partition as the core's batches, numbered from `first_line`.

    Columnar (an Arrow table) when the partition's columns each hold one type; a column mixing types (a text
    among numbers in NDJSON) goes as records instead, so the Predictor names the bad row as it does locally.
    """
    import pyarrow as pa

    from ..batch import Batch

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        records = frame.to_dict(orient="records")
        for start in range(0, len(records), BATCH_ROWS):
            yield Batch(source=source, records=records[start:start + BATCH_ROWS], first_row=first_line + start)
        return
    for start in range(0, max(table.num_rows, 1), BATCH_ROWS):
        yield Batch(source=source, table=table.slice(start, BATCH_ROWS), first_row=first_line + start)


@dataclass(frozen=True, slots=True)
class RowGroups:
    """A partition of a Parquet file: consecutive row groups, which the worker reads with flm's own reader (so a
    dictionary page that inflates is decoded in bounded slices there too, and the partition streams in batches)."""

    url: str
    groups: tuple[int, ...]
    rows: int  # from the footer

    def __len__(self) -> int:
        return self.rows


def parquet_batches(piece: RowGroups, source: str, shift: int) -> Iterator[Batch]:
    """The row groups of `piece` as the core's batches, numbered from the file's row `shift` + 1."""
    import fsspec

    from ..formats import parquet_format

    with fsspec.open(piece.url, "rb") as handle:
        for batch in parquet_format.read_row_groups(handle, source=source, batch_size=BATCH_ROWS,
                                                    row_groups=piece.groups):
            batch.first_row += shift
            yield batch


def text_batches(
    block: bytes, fmt: str, source: str, shift: int, header: bytes | None = None, as_text: AsText | None = None
) -> Iterator[Batch]:
    """A block of an NDJSON or CSV file (cut at line ends by Dask) parsed by flm's own reader, as locally;
    `shift` turns the reader's line numbers into the file's. A CSV block after the first gets the header."""
    import io

    from .. import formats

    data = header + block if header is not None else block
    size = formats.get(fmt).batch_size
    for batch in formats.reader(fmt, as_text)(io.BytesIO(data), source=source, batch_size=size, max_delay=None):
        if shift:
            batch.first_row += shift
            lines = batch.lines
            if isinstance(lines, range):
                batch.lines = range(lines.start + shift, lines.stop + shift)
            elif lines is not None:
                batch.lines = [line + shift for line in lines]
        yield batch


def score(predictor: Predictor, batches: Iterable[Batch]) -> Iterator[Scored]:
    """The core Predictor over one partition; a bad row under "fail" becomes a picklable RowFailure."""
    try:
        yield from predictor.predict(batches)
    except InputError as error:
        if error.line is None:
            raise RemoteError(str(error), error.hint) from None
        raise RowFailure(error.line, error.reason, error.field, error.hint) from None
    except FlmError as error:
        raise RemoteError(str(error), error.hint, int(error.exit_code)) from None
