"""Dynamic batching: concurrent requests to one model become one model call.

Requests queue up while the model is busy; when it is free, everything queued (up to `max_batch_size`
rows) is scored at once on the model's own thread, and each caller gets exactly its own rows back.
A request whose rows cannot become features fails alone: rows are validated per request before merging,
and if the merged call still fails every request is scored on its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import features as feat
from ..batch import Batch, Scored
from ..predictor import BatchFailed, Predictor

if TYPE_CHECKING:
    import pandas as pd

# Event-loop iterations a request needs from its body being read to its batch being queued.
_SETTLE_STEPS = 4
# Called on the model thread after each model call: (rows in the call, requests merged into it).
BatchObserver = Callable[[int, int], None]


@dataclass(slots=True)
class _Job:
    batch: Batch
    method: str
    future: asyncio.Future[Scored]


class Batcher:
    def __init__(
        self,
        predictor: Predictor,
        *,
        name: str = "model",
        max_batch_size: int = 1024,
        max_batch_delay_ms: float = 0.0,
        observe: BatchObserver | None = None,
    ) -> None:
        self.predictor = predictor
        self.max_batch_size = max(1, max_batch_size)
        self.max_delay = max(0.0, max_batch_delay_ms) / 1000.0
        self._observe = observe
        self._queue: deque[_Job] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        # One thread per model: scikit-learn calls are never made on the event loop, and never two at once
        # for one model, which is what lets requests pile up and be merged.
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"flm-{name}")

    async def submit(self, batch: Batch, method: str) -> Scored:
        """Queue `batch` for the next model call; its own Scored rows come back, or its own error."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._drain())
        future: asyncio.Future[Scored] = loop.create_future()
        self._queue.append(_Job(batch, method, future))
        assert self._wakeup is not None
        self._wakeup.set()
        return await future

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

    def _score_jobs(self, jobs: list[_Job]) -> list[Scored | BaseException]:
        results: list[Scored | BaseException | None] = [None] * len(jobs)
        groups: dict[tuple[str, Any], list[int]] = {}
        for index, job in enumerate(jobs):
            groups.setdefault((job.method, _shape_key(job.batch)), []).append(index)
        for (method, _), members in groups.items():
            mergeable = [i for i in members if self._fits(jobs[i].batch)]
            for i in members:
                if i not in mergeable:
                    results[i] = self._score_one(jobs[i])
            if len(mergeable) == 1:
                results[mergeable[0]] = self._score_one(jobs[mergeable[0]])
            elif mergeable:
                for i, result in zip(mergeable, self._score_merged([jobs[i] for i in mergeable], method)):
                    results[i] = result
        return [r if r is not None else RuntimeError("request was not scored") for r in results]

    def _fits(self, batch: Batch) -> bool:
        """Every row of a row batch becomes features: only such requests are merged with others."""
        if batch.records is None:
            return True
        return not feat.from_records(batch.records, self.predictor.spec)[1]

    def _score_one(self, job: _Job) -> Scored | BaseException:
        try:
            scored = self.predictor.score(job.batch, method=job.method)
        except BatchFailed as failed:
            return failed.error
        except Exception as error:  # noqa: BLE001 - handed to the request, which reports it
            return error
        self._note(len(job.batch), 1)
        return scored

    def _score_merged(self, jobs: list[_Job], method: str) -> list[Scored | BaseException]:
        merged = _merge([job.batch for job in jobs])
        try:
            scored = self.predictor.score(merged, method=method)
        except Exception:  # noqa: BLE001
            # Something in the merged call failed: score each request alone so only the guilty one fails.
            return [self._score_one(job) for job in jobs]
        self._note(len(merged), len(jobs))
        parts: list[Scored | BaseException] = []
        start = 0
        for job in jobs:
            end = start + len(job.batch)
            parts.append(Scored(batch=job.batch, outputs=_rows(scored.outputs, start, end), flat=scored.flat))
            start = end
        return parts

    def _note(self, rows: int, requests: int) -> None:
        if self._observe is not None:
            self._observe(rows, requests)


def _shape_key(batch: Batch) -> Any:
    """Batches that can be concatenated share a key: row batches, or tables with one schema."""
    if batch.records is not None:
        return "records"
    assert batch.table is not None
    return batch.table.schema


def _merge(batches: list[Batch]) -> Batch:
    if batches[0].records is not None:
        records: list[Any] = []
        for batch in batches:
            assert batch.records is not None
            records.extend(batch.records)
        return Batch(source=batches[0].source, records=records)
    import pyarrow as pa

    return Batch(source=batches[0].source, table=pa.concat_tables([b.table for b in batches if b.table is not None]))


def _rows(frame: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    return frame.iloc[start:end].reset_index(drop=True)
