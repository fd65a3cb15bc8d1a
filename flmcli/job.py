"""One prediction job: rows read from opened inputs, through the predictor, written to one output.

No terminal policy lives here. The caller opens inputs and output, picks the output format, and says
what to do with rows dropped by `--on-error skip` and with the stream on its way (a progress bar):
`flm predict` does all that in cli/predict.py.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from . import features, formats
from .batch import CHAIN_KEY
from .errors import FlmError
from .prefetch import prefetch

if TYPE_CHECKING:
    from .batch import Batch, Scored
    from .formats import Input
    from .options import PredictOptions
    from .predictor import Predictor
    from .prefetch import ReadAhead

# Called once per batch that dropped rows, with one {"source", "line", "error"} record per dropped row.
SkipReport = Callable[[list[dict[str, Any]]], None]
# Wraps the scored stream on its way to the writer, e.g. to draw progress.
Observer = Callable[["Iterator[Scored]"], "Iterator[Scored]"]


# Default rows per model call for text parsed into typed columns (NDJSON objects, JSON arrays): a batch costs
# ~4x less memory as columns than as decoded rows, and the model's fixed cost per call is spread over more rows
# (bench/bench_columnar.py: ~10% less CPU than 16k rows on churn). A batch that falls back to decoded rows is
# that size in Python objects (~120 MiB for churn rows); live pipes still answer after --max-delay.
TYPED_BATCH_SIZE = 65536

# While the model loads, the reader goes on reading tables (Parquet, Arrow, typed JSON; CSV reads on inside its
# reader, csv_format.SPECULATE, until the model says which columns are text) up to this many bytes of them
# instead of stopping at the prefetch depth: parsing the model would otherwise wait for later runs alongside it
# on the second core. Their model inputs are made, oldest first, as soon as the model is loaded. Bounded, so peak
# memory stays the same whatever the input's length. 16 MiB (two 64k-row churn tables), not 32: what an input of
# 100k rows holds anyway, read whole while the model loads, so that a longer input's peak is no higher for it.
READ_AHEAD_WHILE_LOADING = 16 << 20
# Once the model is loaded, a second batch waits to be scored only if both weigh at most this many bytes: a 64k-row
# churn table (7.4 MiB) waits alone, which is enough to keep the model fed (the reader parses a Parquet or CSV batch
# in a fraction of the model's time), while small batches (a pipe's, --batch-size) keep the depth of 2.
READ_AHEAD = 8 << 20


class Job:
    def __init__(
        self, predictor: Predictor | Callable[[], Predictor], options: PredictOptions, *,
        on_skip: SkipReport | None = None,
    ) -> None:
        # A callable is called when the first write starts, after its reader: the first batches are parsed on
        # the reader thread while the model loads (imports and unpickling, ~1 s of a churn run).
        self._predictor = predictor
        self.options = options
        self.on_skip = on_skip
        self.rows = 0  # rows read, whatever became of them
        self.skipped = 0  # rows dropped under on_error="skip"
        self._current: BinaryIO | None = None
        self._done = 0
        self._ahead: ReadAhead[Batch] | None = None
        self._last_source: str | None = None
        # Set once the model is loaded (or failed to load): a CSV reader waits for it to fix its column types.
        self._settled = threading.Event()
        if not callable(predictor):
            self._settled.set()
        self._text_columns = _TextColumns(self)

    @property
    def predictor(self) -> Predictor:
        """The predictor, loaded now if it was given as a callable."""
        if callable(self._predictor):
            self._predictor = self._predictor()
        return self._predictor

    def write(self, inputs: Iterable[Input], out: BinaryIO, out_fmt: str, *, observe: Observer | None = None) -> None:
        """Score every input, in order, into `out` in `out_fmt`.

        A bad row ends the job with its error, but what was scored before it is written and the output
        closed properly first (a JSON array gets its `]`, a Parquet file its footer).
        """
        self._done = 0  # position() counts this write's inputs, as its observer's total does
        self._ahead = batches = prefetch(self._batches(inputs), finish=self._prepare, ready=self._loaded,
                                         weigh=_table_bytes, budget=READ_AHEAD_WHILE_LOADING,
                                         ahead=READ_AHEAD)
        try:
            try:
                predictor = self.predictor  # loaded now if need be, while the reader reads
            finally:
                self._settled.set()
            batches.wake()  # the inputs of the batches read meanwhile can be made now, while BLAS is set up
            stream = predictor.predict(batches)
            if observe is not None:
                stream = observe(stream)
            failure: list[FlmError] = []

            def until_failure() -> Iterator[Scored]:
                try:
                    yield from self._count(stream)
                except FlmError as error:
                    failure.append(error)

            with _model_threads():
                formats.writer(out_fmt)(until_failure(), out, keep_input=self.options.keep_input)
        finally:
            batches.close()
            self._ahead = None
        if failure:
            raise failure[0]

    def position(self) -> int:
        """Bytes read so far of the current write's inputs (for progress); those that cannot tell count once done."""
        try:
            return self._done + (self._current.tell() if self._current is not None else 0)
        except (OSError, ValueError):
            return self._done

    def _batches(self, inputs: Iterable[Input]) -> Iterator[Batch]:
        """Every input's batches in order; for inputs that held no batch at all (`[]`, an empty or blank file), one
        batch of no rows: the output is then the format's empty file, with the output columns (a Parquet or Arrow
        file of no rows, a CSV header), as for a CSV header alone, never a file of no bytes."""
        from .batch import Batch

        arrow_allocator()
        source = None
        for batch in self._input_batches(inputs):
            source = batch.source
            yield batch
            del batch  # not held while the next is read (prefetch's thread reads it while this one is scored)
        if source is None:
            yield Batch(source=self._last_source or "<stdin>", records=[])

    def _input_batches(self, inputs: Iterable[Input]) -> Iterator[Batch]:
        for opened in inputs:
            self._last_source = opened.name
            self._current = opened.fp
            size = self.options.batch_size_for(opened.fmt)
            read = formats.reader(opened.fmt, self._text_columns)
            if opened.fmt in ("ndjson", "json") and not self.options.keep_input:
                # Typed columns parsed in C++: NDJSON objects through Arrow's JSON reader, plain array rows
                # through json_columns. Kept input fields are written as they came, so those go row by row.
                from .formats import json_array, ndjson_arrow

                read = ndjson_arrow.read if opened.fmt == "ndjson" else json_array.read_typed
                if self.options.batch_size is None:
                    size = TYPED_BATCH_SIZE
            yield from read(opened.fp, source=opened.name, batch_size=size, max_delay=self.options.max_delay)
            self._done += formats.size(opened.fp) or 0
            self._current = None

    def _loaded(self) -> bool:
        return not callable(self._predictor)

    def _prepare(self, batch: Batch) -> None:
        """A table's model input, made on the reader thread (prefetch's `finish`) while the model scores the batch
        before (~20% of a CSV or Parquet run's CPU beside the model's own); the batches read while the model
        loaded are made as soon as it is, oldest first."""
        predictor = self._predictor
        if not callable(predictor) and (batch.fallback is None or self._reader_ahead()):
            features.prepare(batch, predictor.spec)

    def _reader_ahead(self) -> bool:
        """Whether batches already wait to be scored: the reader is ahead, and has time to make a batch's model input.
        Typed columns from text (NDJSON, JSON arrays) can take longer to parse than to score; then the main thread,
        which would wait for the reader anyway, makes the input itself (`features.text_input`)."""
        ahead = self._ahead
        return ahead is not None and ahead.full()

    def _count(self, stream: Iterator[Scored]) -> Iterator[Scored]:
        told = not self.options.keep_input
        # --keep names that no object row has held yet: a row lacking one writes null (records.input_objects), so
        # a misspelt name would give a column of nulls and no word; a table without it was refused (keep.select).
        unseen = list(self.options.keep_input) if isinstance(self.options.keep_input, list) else []
        for scored in stream:
            if unseen:
                unseen = _unseen(scored.batch, unseen)
            if not told and (replaced := _replaced(scored, self.options.keep_input)):
                told = True
                import warnings

                # flm's own `error` field (--on-error null, skip) is not named by --output-name
                output = replaced in [str(name) for name in scored.outputs.columns]
                way = "--output-name names the output otherwise" if output else (
                    "flm writes its own error field; rename the input's to keep it")
                warnings.warn(f"the input field {replaced!r} is replaced by the output of that name in what is written"
                              f" ({way})", stacklevel=1)
            self.rows += len(scored.batch)
            if scored.keep is not None and scored.errors is not None:
                dropped = [
                    {"source": scored.batch.source, "line": scored.batch.line_of(i), "error": scored.errors[i]}
                    for i, keep in enumerate(scored.keep)
                    if not keep
                ]
                self.skipped += len(dropped)
                if dropped and self.on_skip is not None:
                    self.on_skip(dropped)
            yield scored
            if scored.unwritten:  # rows the writer could not write, dropped under skip: reported as they are
                assert scored.errors is not None
                dropped = [{"source": scored.batch.source, "line": scored.batch.line_of(i), "error": scored.errors[i]}
                           for i in scored.unwritten]
                self.skipped += len(dropped)
                if self.on_skip is not None:
                    self.on_skip(dropped)
            del scored  # not held while the next batch is scored: one batch fewer in memory
        if unseen and self.rows:
            import warnings

            names = ", ".join(map(repr, unseen))
            warnings.warn(f"--keep {names}: no input row has this field; it is written as null", stacklevel=1)


def _unseen(batch: Batch, names: list[str]) -> list[str]:
    """The kept names that no row of `batch` holds (a table holds them all: keep.select refused it otherwise)."""
    if batch.records is None:
        return []
    return [name for name in names if not _in_rows(batch.records, name)]


def _replaced(scored: Scored, keep_input: bool | list[str]) -> str | None:
    """The first kept input field that an output column (or `error`) of the same name replaces, if any."""
    outputs = [str(name) for name in scored.outputs.columns] + (["error"] if scored.error_field else [])
    batch = scored.batch
    if isinstance(keep_input, list):
        kept: Iterable[str] = keep_input
    elif batch.table is not None:
        kept = batch.table.column_names
    else:
        # Only the outputs' names are looked up in each row (~4 ms per 64k churn rows, where the set of every
        # row's keys took 18: on the main thread, for every batch while nothing is replaced).
        records = batch.records or ()
        return next((name for name in outputs if _in_rows(records, name)), None)
    return next((name for name in outputs if name in kept), None)


def _in_rows(records: Iterable[Any], name: str) -> bool:
    """Whether a row holds a field of this name; a positional row is kept under CHAIN_KEY (records.input_objects)."""
    return any(name in record if isinstance(record, dict) else (name == CHAIN_KEY and isinstance(record, list))
               for record in records)


class _TextColumns:
    """The columns of a CSV header read as text (features.read_as_text): the model says which, so a call waits for
    it to be loaded; the CSV reader reads on meanwhile, while `known()` says a call would wait."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def __call__(self, header: list[str]) -> frozenset[str]:
        self._job._settled.wait()
        predictor = self._job._predictor
        return frozenset() if callable(predictor) else features.read_as_text(predictor.spec, header)

    def known(self) -> bool:
        return self._job._settled.is_set()


def _table_bytes(batch: Batch) -> int | None:
    """What a waiting batch holds, when it is a table alone, or typed columns and the text they were parsed from
    (JSON arrays); None for anything else (rows decoded from text are not counted)."""
    if batch.table is None or batch.records is not None:
        return None
    if batch.fallback is not None:
        return None if batch.text_bytes is None else int(batch.table.nbytes) + batch.text_bytes
    return int(batch.table.nbytes)


# Set by the user, these say how many threads BLAS may start: flm then leaves BLAS alone.
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


@contextlib.contextmanager
def _model_threads() -> Iterator[None]:
    """BLAS gets one core less than the machine while a job runs: the reader thread parses on the other.

    OpenBLAS starts a thread per core and its idle threads spin waiting for the next call, so with the reader
    busy they take its core: on 2 cores the churn model's 64k-row calls cost ~2x the CPU they cost on one BLAS
    thread (bench/bench_columnar.py --only blas). A variable the user set wins.
    """
    if any(os.environ.get(name) for name in _THREAD_VARIABLES):
        yield
        return
    import importlib

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    limits = importlib.import_module("threadpoolctl").threadpool_limits(limits=max(1, cores - 1), user_api="blas")
    try:
        yield
    finally:
        limits.restore_original_limits()


def one_arrow_pool() -> None:
    """All of Arrow's buffers from its jemalloc pool, where pyarrow has it: the C++ parts too, not only what Python
    asks for (arrow_allocator). Called before pyarrow is imported, which fixes its C++ default pool.

    pyarrow.set_memory_pool is seen by the calls made from Python only; what Arrow's C++ allocates on its own (file
    reads, compute kernels: the Parquet reader's pages and dictionaries) stayed in its default, mimalloc, beside the
    jemalloc pool, each keeping its own freed memory mapped: at 1M churn rows, ~29 MiB of RSS in mimalloc's arena at
    the peak of a Parquet run. One pool: peak RSS of 1M rows 323 -> 301 MiB for Parquet, 357 -> 349 for NDJSON,
    305 -> 301 for CSV, same CPU time (bench/bench_rss.py). Only set where this pyarrow's build says it has jemalloc:
    Arrow warns on stderr at import about a pool it does not have. A pool the user chose is left as it is."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") or "pyarrow" in sys.modules:
        return
    if _arrow_has_jemalloc():
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "jemalloc"
        if not os.environ.get(_JEMALLOC_OPTIONS):
            os.environ[_JEMALLOC_OPTIONS] = JEMALLOC_OPTIONS


# The environment variable Arrow's own jemalloc (built with the prefix je_arrow_) reads its options from, on top of
# Arrow's (dirty_decay_ms:1000, muzzy_decay_ms:1000, background_thread:true).
_JEMALLOC_OPTIONS = "JE_ARROW_MALLOC_CONF"
# muzzy_decay_ms:0: freed pages that have waited their second (dirty decay) go back to the kernel, rather than
# being marked MADV_FREE for another second, which Linux counts in RSS until it is short of memory. narenas:1: the
# reader thread, Arrow's threads and the main thread share one arena, instead of each keeping what it freed in its
# own (jemalloc's default is 4 per core). Peak RSS of 1M churn rows, interleaved in 2 rounds (load 8-10): NDJSON
# 344 -> 325 MiB, CSV 299 -> 292, Parquet 297 -> 294, 100k rows 268/268/260 -> 267/259/259; same CPU seconds.
# Immediate purging (decay 0, pyarrow.jemalloc_set_decay_ms) took 10-15% more CPU for CSV and NDJSON.
JEMALLOC_OPTIONS = "muzzy_decay_ms:0,narenas:1"


def _arrow_has_jemalloc() -> bool:
    """Whether the installed pyarrow was built with jemalloc, from its build configuration (without importing it)."""
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("pyarrow")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    for folder in spec.submodule_search_locations:
        try:
            config = (Path(folder) / "include" / "arrow" / "util" / "config.h").read_text(errors="replace")
        except OSError:
            continue
        return any(line.split() == ["#define", "ARROW_JEMALLOC"] for line in config.splitlines())
    return False


def arrow_allocator() -> None:
    """Arrow's buffers from its jemalloc pool rather than pyarrow's default, mimalloc, where pyarrow has it.

    mimalloc keeps more of what a batch frees mapped: peak RSS of 1M churn rows 398 vs 349 MiB for Parquet and
    438 vs 386 for NDJSON, 100k rows 334 vs 300 and 363 vs 318 (bench/bench_rss.py, same CPU time). A pool the
    user chose (ARROW_DEFAULT_MEMORY_POOL) is left as it is; so is the one one_arrow_pool chose, jemalloc from the
    import on. Called on the reader thread, which imports pyarrow anyway: not on the way of start-up."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without it
        pass


# glibc's malloc, as flm predict sets it: blocks up to this size come from the heap, not each from its own mmap...
_MMAP_THRESHOLD = 32 << 20  # (the largest glibc accepts on 64-bit)
# ...and up to this much freed memory stays at the top of the heap instead of going back to the kernel.
_TRIM_THRESHOLD = 128 << 20


def keep_freed_memory() -> None:
    """Let glibc's malloc keep what a batch frees for the next batch, which allocates the same again.

    By default each batch's numpy and pandas buffers of more than a few hundred kB are mmapped and unmapped, and the
    heap's top is trimmed as soon as it is freed, so every batch faulted its memory in afresh: ~40k page faults and
    0.2-0.3 CPU-s of kernel time per 1M churn rows (CSV or Parquet, `/usr/bin/time`), half the model's own time.
    Peak RSS is what the batches in flight hold, as before (+1-2%). Not glibc (musl, macOS): left as it is.
    """
    import ctypes

    try:
        os.confstr("CS_GNU_LIBC_VERSION")
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, ValueError):
        return
    mallopt(-3, _MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    mallopt(-1, _TRIM_THRESHOLD)  # M_TRIM_THRESHOLD
