"""What the read-ahead thread holds: it reads the next item only once there is room for it, so that with the
consumer's item `depth` + 1 items are in memory, not `depth` + 2 (the thread used to read one more and hold it
until room came: one batch more in memory, bench/bench_rss.py)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

from flmcli import prefetch as module
from flmcli.prefetch import prefetch


def _settled() -> None:
    """Until the read-ahead thread waits on its condition (for room, or for room to hand an item over)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for thread in list(module.RUNNING):
            frame = sys._current_frames().get(thread.ident or 0)
            names = []
            while frame is not None:
                names.append(frame.f_code.co_name)
                frame = frame.f_back
            if names and names[0] == "wait" and "produce" in names:
                return
        time.sleep(0.005)
    raise AssertionError("the read-ahead thread never waited")


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_the_thread_reads_no_further_than_depth_ahead(depth: int) -> None:
    read: list[int] = []

    def items() -> Iterator[int]:
        for i in range(100):
            read.append(i)
            yield i

    ahead = prefetch(items(), depth)
    try:
        _settled()
        assert len(read) == depth
        assert next(ahead) == 0
        deadline = time.monotonic() + 60
        while len(read) < depth + 1 and time.monotonic() < deadline:  # room for one more: read it
            time.sleep(0.005)
        _settled()
        assert len(read) == depth + 1
        assert list(ahead) == list(range(1, 100))
    finally:
        ahead.close()


def test_while_loading_the_thread_reads_as_far_as_the_budget_allows() -> None:
    read: list[int] = []
    ready = False

    def items() -> Iterator[bytes]:
        for i in range(100):
            read.append(i)
            yield bytes(10)

    ahead = prefetch(items(), 2, finish=lambda item: None, ready=lambda: ready, weigh=len, budget=55)
    try:
        _settled()
        assert len(read) == 5  # 5 items of 10 bytes within 55: the next, weighed as the last, would not fit
        ready = True
        ahead.wake()
        assert len(list(ahead)) == 100
    finally:
        ahead.close()
