"""Dynamic batching: concurrent requests to one model become one model call.

Requests queue up while the model is busy; when it is free, everything queued (up to `max_batch_size`
rows) is scored at once on the model's own thread, and each caller gets exactly its own rows back.
A call of a few rows from small bodies, on a model whose small calls are known to be fast, is made on the
event loop instead: see `Batcher._inline`.
A request with a bad row fails alone, with its own first bad row: the merged call finds every bad row (the
predictor's one bad-row algorithm, by segments) and scores the rest.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..batch import Batch, Scored
from ..errors import InputError
from ..predictor import Predictor, Unbisected
from . import columns

# Event-loop iterations a request needs from its body being read to its batch being queued.
_SETTLE_STEPS = 4
# A call of at most this many rows, each request's body small (`submit(small=True)`), may run on the event loop.
INLINE_ROWS = 16
# A body of up to this many bytes is small (what the routes pass as `submit(small=...)`).
SMALL_BODY = 8 * 1024
# Called after each model call (on the model thread, or the loop for an inline one): (rows, requests merged).
BatchObserver = Callable[[int, int], None]


@dataclass(slots=True)
class _Job:
    batch: Batch
    methods: tuple[str, ...]
    future: asyncio.Future[list[Part]]
    small: bool


class _Call:
    """One method's outputs for every request merged into a model call, shared by their Parts."""

    __slots__ = ("scored", "_bare")

    def __init__(self, scored: Scored) -> None:
        self.scored = scored
        self._bare: list[Any] | None = None

    def bare(self) -> list[Any] | None:
        """Every row's output as the JSON writer writes it (records.bare_values), made once for the whole call;
        None unless the outputs are plain numbers (or booleans) with no per-row errors."""
        if self._bare is None:
            scored = self.scored
            array = scored.array
            if array is None or array.dtype.kind not in "biuf" or scored.errors is not None or scored.keep is not None:
                return None
            flat = scored.flat and array.shape[1] == 1
            self._bare = array[:, 0].tolist() if flat else array.tolist()
        return self._bare


@dataclass(slots=True)
class Part:
    """One request's share of a model call: rows start..start+length of `call.scored`, viewed, not copied.

    Slicing a Scored copies its frame (pandas, tens of microseconds): per request, as much as the request's share
    of the model call itself. A Part is sliced only when a Scored is asked for; the routes' JSON answers are
    written from the call's values directly (`bare`, `array`)."""

    call: _Call
    start: int
    length: int

    def scored(self) -> Scored:
        whole = self.call.scored
        if self.start == 0 and self.length == len(whole.batch):
            part = Scored(batch=whole.batch, outputs=whole.outputs, errors=whole.errors, keep=whole.keep,
                          flat=whole.flat, array=whole.array, on_error=whole.on_error)
        else:
            part = whole.slice(self.start, self.length)
        part.failures = None
        return part

    def bare(self) -> list[Any] | None:
        """`records.bare_values(self.scored())`, without the slice; None where that shortcut does not hold."""
        values = self.call.bare()
        if values is None:
            return None
        if self.start == 0 and self.length == len(values):
            return values
        return values[self.start : self.start + self.length]

    def width(self) -> int:
        """Values per row (outputs of the method), 0 when unknown."""
        array = self.call.scored.array
        return 0 if array is None else int(array.shape[1])

    def array(self) -> Any:
        """The 2-D array of this request's outputs (rows x outputs), or None when the call has none."""
        array = self.call.scored.array
        return None if array is None else array[self.start : self.start + self.length]


class Batcher:
    def __init__(
        self,
        predictor: Predictor,
        *,
        name: str = "model",
        max_batch_size: int = 1024,
        max_batch_delay_ms: float = 0.0,
        observe: BatchObserver | None = None,
        inline_below: float | None = None,
    ) -> None:
        self.predictor = predictor
        self.max_batch_size = max(1, max_batch_size)
        self.max_delay = max(0.0, max_batch_delay_ms) / 1000.0
        self._observe = observe
        # Seconds a small call may take and still be made on the event loop (None: the GIL's switch interval).
        self.inline_below = inline_below
        # How long the last few small calls took: the fastest is the model's cost (preemption only adds to it).
        self._small_calls: deque[float] = deque(maxlen=5)
        self._queue: deque[_Job] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        # One thread per model: scikit-learn calls are made there (but for the short ones of `_inline`), never
        # two at once for one model, which is what lets requests pile up and be merged.
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"flm-{name}")

    async def submit(self, batch: Batch, method: str, *, small: bool = False) -> Scored:
        """Queue `batch` for the next model call; its own Scored rows come back, or its own error.

        `small`: the rows came in a small body, so that the call cannot take long for what they hold (a huge
        text field, say); only such rows may be scored on the event loop."""
        return (await self.submit_parts(batch, (method,), small=small))[0].scored()

    async def submit_all(self, batch: Batch, methods: tuple[str, ...], *, small: bool = False) -> list[Scored]:
        """`submit` for several methods at once: one Scored per method, the rows' features extracted once."""
        return [part.scored() for part in await self.submit_parts(batch, methods, small=small)]

    def submit_parts(self, batch: Batch, methods: tuple[str, ...], *, small: bool = False) -> asyncio.Future[list[Part]]:
        """`submit_all` as Parts (one per method): views of the model call's outputs, sliced only if asked."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._drain())
        future: asyncio.Future[list[Part]] = loop.create_future()
        self._queue.append(_Job(batch, methods, future, small))
        assert self._wakeup is not None
        self._wakeup.set()
        return future

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._thread.shutdown(wait=True)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                await self._settle()
                if self.max_delay and self._queued_rows() < self.max_batch_size:
                    await asyncio.sleep(self.max_delay)
                jobs = self._take()
                if not jobs:
                    continue
                try:
                    results = None
                    if self._inline(jobs):
                        try:
                            results = self._score_jobs(jobs, bisect=False)
                        except Unbisected:
                            pass  # a bad row: finding it takes many calls, made on the model's thread
                    if results is None:
                        results = await loop.run_in_executor(self._thread, self._score_jobs, jobs)
                except Exception as error:  # noqa: BLE001 - never leave a caller waiting on a dead batch
                    results = [error] * len(jobs)
                for job, result in zip(jobs, results):
                    if job.future.done():  # the caller gave up (timeout, disconnect)
                        continue
                    if isinstance(result, BaseException):
                        job.future.set_exception(result)
                    else:
                        job.future.set_result(result)

    async def _settle(self) -> None:
        """Let requests already read from their sockets reach the queue before a batch is taken.

        The model thread holds the GIL for most of a call, so requests that arrived meanwhile are still a few
        event-loop steps short of the queue when it ends; without this, every call would take a single request.
        Costs a few loop iterations (microseconds), never a timed wait.
        """
        while len(self._queue) < self.max_batch_size:
            queued = len(self._queue)
            for _ in range(_SETTLE_STEPS):
                await asyncio.sleep(0)
            if len(self._queue) == queued:
                return

    def _inline(self, jobs: list[_Job]) -> bool:
        """Whether to make this call on the event loop rather than hand it to the model's thread.

        The two thread hops cost more than the rest of a one-row request (each is a wake-up of a sleeping
        thread: tens of microseconds on an idle machine, milliseconds on a busy one). They buy nothing for a
        short call: the model holds the GIL, so the loop waits for the GIL up to the switch interval (5 ms)
        while the model thread runs anyway. So a call of a few rows, each request's body small, is made here
        when one of the last five small calls took less than the switch interval (the fastest: on a busy machine
        the OS preempting a call makes it look slower than the model is, never faster); the first call, and any
        while the last five were all slow, goes to the thread (and is timed there). Only one model call is made
        here: if it fails, the search for the bad rows (up to a few dozen calls) is made on the thread. Calls
        stay one at a time: this task makes them all.
        """
        budget = self.inline_below if self.inline_below is not None else sys.getswitchinterval()
        if not self._small_calls or min(self._small_calls) >= budget:
            return False
        return all(job.small for job in jobs) and sum(len(job.batch) for job in jobs) <= INLINE_ROWS

    def _queued_rows(self) -> int:
        return sum(len(job.batch) for job in self._queue)

    def _take(self) -> list[_Job]:
        jobs: list[_Job] = []
        rows = 0
        while self._queue:
            job = self._queue[0]
            if job.future.done():
                self._queue.popleft()
                continue
            if jobs and rows + len(job.batch) > self.max_batch_size:
                break
            jobs.append(self._queue.popleft())
            rows += len(job.batch)
        return jobs

    # --- on the model thread -------------------------------------------------------------------------

    def _score_jobs(self, jobs: list[_Job], bisect: bool = True) -> list[list[Part] | BaseException]:
        """Requests that can be concatenated are scored in one call and sliced back; each gets its own rows,
        or its own first bad row's error (the predictor's bisection finds them all in that one call).
        With bisect=False a failed model call raises Unbisected (Predictor.score)."""
        started = time.perf_counter()
        results: list[list[Part] | BaseException | None] = [None] * len(jobs)
        groups: dict[tuple[tuple[str, ...], Any], list[int]] = {}
        for index, job in enumerate(jobs):
            groups.setdefault((job.methods, _shape_key(job.batch)), []).append(index)
        for (methods, _), members in groups.items():
            batches = [jobs[i].batch for i in members]
            starts = []
            at = 0
            for batch in batches:
                starts.append(at)
                at += len(batch)
            try:
                merged = _merge(batches)
                if isinstance(merged, columns.ColumnBatch):
                    merged.prepare(self.predictor.spec)  # here, on the model's thread, as the predictor's own
                if len(methods) == 1:
                    outputs = [self.predictor.score(merged, method=methods[0], segments=starts, bisect=bisect)]
                else:
                    outputs = self.predictor.score_all(merged, methods, segments=starts, bisect=bisect)
            except Unbisected:
                raise
            except Exception as error:  # noqa: BLE001 - not a row's fault: every request of the call gets it
                for i in members:
                    results[i] = error
                continue
            self._note(at, len(members))
            calls = [_Call(scored) for scored in outputs]
            failures = [scored.failures for scored in outputs if scored.failures]
            for i, start, batch in zip(members, starts, batches):
                bad = _first_failure(failures, start, start + len(batch)) if failures else None
                results[i] = bad if bad is not None else [Part(call, start, len(batch)) for call in calls]
        if sum(len(job.batch) for job in jobs) <= INLINE_ROWS:
            self._small_calls.append(time.perf_counter() - started)
        return [r if r is not None else RuntimeError("request was not scored") for r in results]

    def _note(self, rows: int, requests: int) -> None:
        if self._observe is not None:
            self._observe(rows, requests)


def _first_failure(failures: list[dict[int, InputError]], start: int, end: int) -> InputError | None:
    """A request's error: its first bad row (rows start..end of the call) in the first method that had one."""
    for failed in failures:
        rows = [row for row in failed if start <= row < end]
        if rows:
            return failed[min(rows)]
    return None


def _shape_key(batch: Batch) -> Any:
    """Batches that can be concatenated share a key: row batches, column matrices, or tables with one schema."""
    if batch.records is not None:
        return "records"
    if isinstance(batch, columns.ColumnBatch):
        # Of one width: a model that does not say how many features it takes may be sent several.
        return ("matrix", batch.matrix.shape[1])
    assert batch.table is not None
    # Typed columns with a fallback (rows decoded again to name a bad one), or the values of array rows by
    # position, only merge with their like: the merged batch keeps one of each.
    return batch.table.schema, batch.fallback is not None, batch.positional


def _merge(batches: list[Batch]) -> Batch:
    """One batch of every request's rows, each row keeping its own request's line number for its error."""
    if len(batches) == 1:
        return batches[0]
    if isinstance(batches[0], columns.ColumnBatch):
        return columns.merge(batches)  # type: ignore[arg-type]  # one key, one kind (_shape_key)
    lines = [batch.line_of(i) for batch in batches for i in range(len(batch))]
    if batches[0].records is not None:
        records: list[Any] = []
        for batch in batches:
            assert batch.records is not None
            records.extend(batch.records)
        return Batch(source=batches[0].source, records=records, lines=lines)
    import pyarrow as pa

    table = pa.concat_tables([b.table for b in batches if b.table is not None])
    # A row the reader could not parse (a short CSV row) holds its place with a stand-in that must never be
    # scored: its reason goes along, at its place in the merged table.
    bad: dict[int, str] = {}
    at = 0
    for batch in batches:
        bad.update((at + index, reason) for index, reason in (batch.bad or {}).items())
        at += len(batch)
    fallback = functools.partial(_decoded, batches) if batches[0].fallback is not None else None
    return Batch(source=batches[0].source, table=table, lines=lines, bad=bad or None, fallback=fallback,
                 positional=batches[0].positional)


def _decoded(batches: list[Batch]) -> Batch:
    """The merged rows decoded one by one (each batch's own fallback), each keeping its own line number."""
    records: list[Any] = []
    lines: list[int] = []
    for batch in batches:
        assert batch.fallback is not None
        decoded = batch.fallback()
        assert decoded.records is not None
        records.extend(decoded.records)
        lines.extend(decoded.line_of(i) for i in range(len(decoded)))
    return Batch(source=batches[0].source, records=records, lines=lines)
