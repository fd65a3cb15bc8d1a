"""The read-ahead thread and signals: Linux may hand a process's Ctrl-C to any thread that does not block it."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType

import pytest

from flmcli.prefetch import prefetch


class Poked(Exception):
    pass


def _poke(signum: int, frame: FrameType | None) -> None:
    raise Poked


def _poke_once_waiting(consumer: int, reader: int) -> None:
    """SIGUSR1 to the reader thread once the consumer sleeps in next()'s wait for the next item."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        frame = sys._current_frames().get(consumer)
        if frame is not None and frame.f_code.co_name == "wait" and frame.f_back is not None \
                and frame.f_back.f_code.co_name == "__next__":
            break
        time.sleep(0.005)
    else:
        raise AssertionError("the consumer never waited in next()")
    signal.pthread_kill(reader, signal.SIGUSR1)


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
        # could be handled by this thread before next() was entered (it failed so), proving nothing; sent after a
        # fixed delay, it could come before next() was entered on a busy machine, proving nothing either.
        poke = threading.Thread(target=_poke_once_waiting, args=(threading.get_ident(), ident))
        with pytest.raises(Poked):
            poke.start()
            next(items)
        poke.join()
        assert not woke  # interrupted while the reader still had nothing, not once the next row came
    finally:
        release.set()
        signal.signal(signal.SIGUSR1, previous)
        items.close()
