"""Read ahead in a thread, so parsing the next batch overlaps the model scoring this one.

Parsing (orjson, pyarrow) and scikit-learn both release the GIL for much of their
work, which is how one `flm predict` process uses a second core.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Generic, TypeVar

T = TypeVar("T")

# How often the consumer wakes while it waits. The kernel may deliver Ctrl-C to any thread that does not block it
# (the reader blocked in read(), a BLAS or Arrow worker); Python then only flags it, and a main thread asleep in a
# lock without a timeout would never look: `flm predict` would ignore Ctrl-C until the next row came.
_WAKE = 0.2
# How often a producer waiting for room looks whether it was told to stop, or may finish what it holds.
_POLL = 0.1
# Producer threads still running: one blocked reading stdin makes a normal interpreter exit abort.
RUNNING: set[threading.Thread] = set()


def prefetch(
    items: Iterable[T],
    depth: int = 2,
    *,
    finish: Callable[[T], None] | None = None,
    ready: Callable[[], bool] | None = None,
    weigh: Callable[[T], int | None] | None = None,
    budget: int = 0,
    ahead: int = 0,
) -> ReadAhead[T]:
    """Yield `items` in order, produced up to `depth` ahead by a daemon thread; its errors are re-raised here.

    The thread starts now, not at the first `next`: the caller may load a model meanwhile. Close what is not
    read to the end, so that the thread stops.

    `finish(item)` is called on the thread for each item before it is handed over, once `ready()` says it can be
    (the model it makes the item's input for is loaded). Items read before that wait unfinished, and the thread
    finishes them, oldest first, as they come within `depth` of the consumer, before it reads on; one the
    consumer takes unfinished is its own to finish.
    Until `ready()`, more than `depth` items may wait as long as their `weigh`ts (bytes; None: unknown) add up to
    at most `budget`: the thread reads further ahead while the consumer cannot take anything yet.
    From `ready()` on, with `ahead`, fewer than `depth` may wait: one always may, more only while their weights
    (known, all of them) add up to at most `ahead` bytes. Small items keep the depth; big ones wait one at a time.
    """
    return ReadAhead(items, depth, finish=finish, ready=ready, weigh=weigh, budget=budget, ahead=ahead)


class _Entry(Generic[T]):
    __slots__ = ("busy", "finished", "item", "weight")

    def __init__(self, item: T, finished: bool, weight: int | None) -> None:
        self.item = item
        self.finished = finished
        self.busy = False  # being finished on the thread: the consumer waits for it
        self.weight = weight


class ReadAhead(Iterator[T]):
    def __init__(
        self,
        items: Iterable[T],
        depth: int,
        *,
        finish: Callable[[T], None] | None = None,
        ready: Callable[[], bool] | None = None,
        weigh: Callable[[T], int | None] | None = None,
        budget: int = 0,
        ahead: int = 0,
    ) -> None:
        self._waiting: deque[_Entry[object]] = deque()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._done = False
        self._depth = max(1, depth)
        self._finish = finish
        self._ready = ready if ready is not None else (lambda: True)
        self._weigh = weigh
        self._budget = budget
        self._ahead = ahead
        self._reading = False  # the thread is reading the next item: it cannot finish one before that is done
        self._gone = False  # the thread has ended
        self._last_weight: int | None = 0  # of the last item read: what the next is expected to weigh

        def produce() -> None:
            try:
                source = iter(items)
                while True:
                    if not self._await_room():
                        return
                    self._reading = True
                    try:
                        item = next(source)
                    except StopIteration:
                        break
                    finally:
                        self._reading = False
                    if not self._hand(item):
                        return
                    del item  # not held while the next is read: the consumer may be done with it by then
                self._append(_Entry(_DONE, True, 0))
                self._finish_the_rest()
            except BaseException as error:  # handed to the consumer, who raises it in order
                self._append(_Entry(_Failure(error), True, 0))
            finally:
                with self._changed:
                    self._gone = True
                    self._changed.notify_all()
                RUNNING.discard(threading.current_thread())

        thread = threading.Thread(target=produce, name="flm-prefetch", daemon=True)
        RUNNING.add(thread)
        thread.start()

    def _ready_now(self) -> bool:
        return self._finish is not None and self._ready()

    def _room(self, weight: int | None) -> bool:
        """Whether one more item may wait (called holding the lock)."""
        waiting = self._waiting
        if not waiting:
            return True
        weights = [entry.weight for entry in waiting]
        known = weight is not None and None not in weights
        total = sum(w for w in weights if w is not None) + (weight or 0)
        if self._ready():
            return len(waiting) < self._depth and (self._ahead <= 0 or not known or total <= self._ahead)
        return len(waiting) < self._depth or (self._budget > 0 and known and total <= self._budget)

    def _await_room(self) -> bool:
        """Wait, finishing what waits meanwhile, until an item read now could wait at once; False: stopped.

        The next item is read only then, so the one being read is among the `depth` (or within the budget,
        weighed as the last one was) rather than one more held by the thread until room comes: with the batch
        being scored, `depth` + 1 batches in memory instead of `depth` + 2 (bench/bench_rss.py)."""
        while True:
            self._finish_waiting()  # older items first
            with self._changed:
                if self._stop.is_set():
                    return False
                if self._room(self._last_weight):
                    return True
                if self._unfinished() is None:
                    self._changed.wait(_POLL)

    def _hand(self, item: T) -> bool:
        """Wait for room, finishing what waits meanwhile if it can be; then let `item` wait. False: stopped."""
        weight = self._last_weight = self._weigh(item) if self._weigh is not None else None
        finished = self._finish is None
        self._finish_waiting()  # older items first
        if not finished and self._ready_now():
            self._call_finish(item)
            finished = True
        while True:
            with self._changed:
                if self._stop.is_set():
                    return False
                if self._room(weight):
                    self._waiting.append(_Entry(item, finished, weight))
                    self._changed.notify_all()
                    return True
                if not self._unfinished():
                    self._changed.wait(_POLL)
                    continue
            self._finish_waiting()

    def _unfinished(self) -> _Entry[object] | None:
        """The oldest waiting item that can be finished now, among the next `depth` (called holding the lock): those
        further back are finished as they come up, so that what finishing adds (a model input) is held for no
        more items than without the longer wait."""
        if not self._ready_now():
            return None
        return next((entry for entry in islice(self._waiting, self._depth) if not entry.finished and not entry.busy),
                    None)

    def _finish_waiting(self) -> None:
        """Finish the waiting items, oldest first, while it can be done."""
        while True:
            with self._changed:
                if self._stop.is_set():
                    return
                entry = self._unfinished()
                if entry is None:
                    return
                entry.busy = True
            try:
                self._call_finish(entry.item)  # type: ignore[arg-type]
            finally:
                with self._changed:
                    entry.busy = False
                    entry.finished = True
                    self._changed.notify_all()

    def _finish_the_rest(self) -> None:
        """All is read: finish what still waits as it comes up, until the consumer has taken it all."""
        while True:
            self._finish_waiting()
            with self._changed:
                if self._stop.is_set() or all(entry.finished for entry in self._waiting):
                    return
                if self._unfinished() is None:
                    self._changed.wait(_POLL)

    def _takes(self, entry: _Entry[object]) -> bool:
        """Whether the consumer takes the first waiting item now (called holding the lock): finished, or not to be
        finished soon by the thread (not ready, or the thread busy reading or gone); else it waits for the thread."""
        if entry.busy:
            return False
        return entry.finished or self._gone or self._reading or not self._ready_now()

    def _call_finish(self, item: T) -> None:
        assert self._finish is not None
        try:
            self._finish(item)
        except Exception:  # noqa: BLE001, S110 - an item left unfinished is finished by its consumer
            pass

    def _append(self, entry: _Entry[object]) -> None:
        with self._changed:
            self._waiting.append(entry)
            self._changed.notify_all()

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        with self._changed:
            while not self._waiting or not self._takes(self._waiting[0]):
                self._changed.notify_all()  # the thread may be waiting for room: the first item is to be finished
                self._changed.wait(_WAKE)
            item = self._waiting.popleft().item
            self._changed.notify_all()
        if item is _DONE:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return item  # type: ignore[return-value]

    def full(self) -> bool:
        """Whether the thread's next hand-over would wait for room (`depth` items wait, or `ahead` bytes would pass)."""
        with self._changed:
            return not self._room(self._last_weight)

    def wake(self) -> None:
        """`ready()` may have changed: the thread looks again now rather than at its next poll."""
        with self._changed:
            self._changed.notify_all()

    def close(self) -> None:
        """No more items wanted: the thread stops at its next hand-over, and what waits is let go."""
        self._done = True
        self._stop.set()
        with self._changed:
            self._waiting.clear()
            self._changed.notify_all()

    def __del__(self) -> None:
        stop = getattr(self, "_stop", None)  # absent if the thread could not start
        if stop is not None:
            stop.set()


_DONE = object()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error
