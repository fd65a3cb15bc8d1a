"""Per-request timeouts of one length, for many requests at once: one timer, not one per request.

`asyncio.timeout` schedules and cancels a timer for every request (a sixth of the event loop's time per request
in the fast lane). All of a server's requests get the same timeout, so their deadlines come in the order the
requests do: they wait in a queue, and one timer, set for the earliest, cancels each request still running at
its deadline. A cancelled request's block raises TimeoutError, as `asyncio.timeout` does; a cancellation from
elsewhere (the server shutting down) stays a cancellation.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

_RUNNING, _DONE, _EXPIRED = 0, 1, 2


class _Deadline:
    __slots__ = ("at", "task", "state", "cancelling")

    def __init__(self, at: float, task: asyncio.Task[object], cancelling: int) -> None:
        self.at = at
        self.task = task
        self.state = _RUNNING
        self.cancelling = cancelling


class Deadlines:
    """`with deadlines.scope():` bounds the enclosing task's block by `seconds` (None: no bound)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._queue: deque[_Deadline] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def scope(self) -> _Scope:
        return _Scope(self)

    def _enter(self) -> _Deadline | None:
        if self.seconds is None:
            return None
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (an app served again): the old one's deadlines are gone with it
            self._loop, self._timer = loop, None
            self._queue.clear()
        task = asyncio.current_task(loop)
        assert task is not None
        deadline = _Deadline(loop.time() + self.seconds, task, task.cancelling())
        queue = self._queue
        while queue and queue[0].state != _RUNNING:  # requests end about in the order they came: keep it short
            queue.popleft()
        queue.append(deadline)
        if self._timer is None:
            self._timer = loop.call_at(queue[0].at, self._expire)
        return deadline

    def _expire(self) -> None:
        self._timer = None
        loop = self._loop
        assert loop is not None
        now = loop.time()
        queue = self._queue
        while queue and (queue[0].state != _RUNNING or queue[0].at <= now):
            deadline = queue.popleft()
            if deadline.state == _RUNNING:
                deadline.state = _EXPIRED
                deadline.task.cancel()
        if queue:
            self._timer = loop.call_at(queue[0].at, self._expire)


class _Scope:
    __slots__ = ("_deadlines", "_deadline")

    def __init__(self, deadlines: Deadlines) -> None:
        self._deadlines = deadlines
        self._deadline: _Deadline | None = None

    def __enter__(self) -> None:
        self._deadline = self._deadlines._enter()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        deadline = self._deadline
        if deadline is None:
            return
        if deadline.state == _EXPIRED:
            # This scope cancelled the task: its cancellation becomes TimeoutError, unless another came too.
            if kind is asyncio.CancelledError and deadline.task.uncancel() <= deadline.cancelling:
                raise TimeoutError from error
            return
        deadline.state = _DONE
