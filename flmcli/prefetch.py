"""Read ahead in a thread, so parsing the next batch overlaps the model scoring this one.

Parsing (orjson, pyarrow) and scikit-learn both release the GIL for much of their
work, which is how one `flm predict` process uses a second core.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
# How often the consumer wakes while it waits. The kernel may deliver Ctrl-C to any thread that does not block it
# (the reader blocked in read(), a BLAS or Arrow worker); Python then only flags it, and a main thread asleep in a
# lock without a timeout would never look: `flm predict` would ignore Ctrl-C until the next row came.
_WAKE = 0.2
# Producer threads still running: one blocked reading stdin makes a normal interpreter exit abort.
RUNNING: set[threading.Thread] = set()


def prefetch(items: Iterable[T], depth: int = 2) -> ReadAhead[T]:
    """Yield `items` in order, produced up to `depth` ahead by a daemon thread; its errors are re-raised here.

    The thread starts now, not at the first `next`: the caller may load a model meanwhile. Close what is not
    read to the end, so that the thread stops."""
    return ReadAhead(items, depth)


class ReadAhead(Iterator[T]):
    def __init__(self, items: Iterable[T], depth: int) -> None:
        self._slots: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = stop = threading.Event()
        self._done = False
        slots = self._slots

        def produce() -> None:
            try:
                for item in items:
                    while not stop.is_set():
                        try:
                            slots.put(item, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                slots.put(_DONE)
            except BaseException as error:  # handed to the consumer, who raises it in order
                slots.put(_Failure(error))
            finally:
                RUNNING.discard(threading.current_thread())

        thread = threading.Thread(target=produce, name="flm-prefetch", daemon=True)
        RUNNING.add(thread)
        thread.start()

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        while True:
            try:
                item = self._slots.get(timeout=_WAKE)
            except queue.Empty:
                continue
            if item is _DONE:
                self.close()
                raise StopIteration
            if isinstance(item, _Failure):
                self.close()
                raise item.error
            return item  # type: ignore[return-value]

    def full(self) -> bool:
        """Whether `depth` items wait to be taken: the producer's next hand-over would wait."""
        return self._slots.full()

    def close(self) -> None:
        """No more items wanted: the thread stops at its next hand-over."""
        self._done = True
        self._stop.set()

    def __del__(self) -> None:
        stop = getattr(self, "_stop", None)  # absent if the thread could not start
        if stop is not None:
            stop.set()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error
