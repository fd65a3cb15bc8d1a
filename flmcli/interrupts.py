"""Ctrl-C (and SIGTERM, SIGHUP) between writes, not inside one: a pipe's reader gets whole lines.

A chunk of output is a whole number of rows. Python raises KeyboardInterrupt wherever the main thread is, which
may be inside the system call writing a chunk to a full pipe: the reader was left with half a line (an NDJSON
row cut mid-string). While a chunk is written these signals are noted, and acted on once it is all written. A
second one while still writing acts at once: a reader that never reads cannot hold flm up.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

_HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Run the body with SIGINT, SIGTERM and SIGHUP deferred to its end, where Python handles them (only in the
    main thread, and only those with a Python handler: an ignored or default signal is left as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    noted: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        if noted:  # asked twice: the write is taking too long, act now
            _act(previous, signum, frame)
        else:
            noted.append(signum)

    for held_signal in _HELD:
        handler = signal.getsignal(held_signal)
        if callable(handler):
            previous[held_signal] = handler
            signal.signal(held_signal, note)
    try:
        yield
    finally:
        for restored, handler in previous.items():
            signal.signal(restored, handler)
    if noted:
        _act(previous, noted[0], None)


def _act(previous: dict[int, Any], signum: int, frame: FrameType | None) -> None:
    for held_signum, handler in previous.items():
        signal.signal(held_signum, handler)
    previous[signum](signum, frame)
