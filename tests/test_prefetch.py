"""The read-ahead thread and signals: Linux may hand a process's Ctrl-C to any thread that does not block it."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from flmcli.prefetch import prefetch


class Poked(Exception):
    pass


def _poke(signum: int, frame: FrameType | None) -> None:
    raise Poked


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_a_signal_delivered_to_the_reader_thread_still_interrupts_the_consumer() -> None:
    """What a Ctrl-C does when the kernel gives it to the reader blocked on stdin: the C handler runs there and
    only flags the signal; the consumer waiting for the next batch must notice. It used to sleep in a lock without
    a timeout until the next row came, so `flm predict` in a live pipe ignored Ctrl-C."""
    release = threading.Event()
    reader: list[threading.Thread] = []
    woke: list[bool] = []

    def rows() -> Iterator[int]:
        reader.append(threading.current_thread())
        yield 1
        # Stands for a read() on a pipe that has no next row yet; released by the test when it is done.
        woke.append(release.wait(timeout=20))
        yield 2

    previous = signal.signal(signal.SIGUSR1, _poke)
    items = prefetch(rows())
    try:
        assert next(items) == 1
        assert reader and reader[0].ident is not None
        ident = reader[0].ident
        # Sent from another thread once the consumer waits in next(): sent from here, the flag set in the reader
        # could be handled by this thread before next() was entered (it failed so), proving nothing.
        poke = threading.Timer(0.3, signal.pthread_kill, (ident, signal.SIGUSR1))
        with pytest.raises(Poked):
            poke.start()
            next(items)
        poke.join()
        assert not woke  # interrupted while the reader still had nothing, not once the next row came
    finally:
        release.set()
        signal.signal(signal.SIGUSR1, previous)
        items.close()
