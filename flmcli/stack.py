"""Room on the interpreter's frame stack, reserved up front.

CPython (3.11 on) keeps a thread's Python frames on a stack of 16 KiB chunks: one is mapped (mmap) when a call
needs room past the last, and unmapped as soon as it is empty again. A call path that keeps crossing a chunk's
edge maps and unmaps it on every crossing: importing scikit-learn and SciPy and unpickling a model did so ~27,000
times in a one-row `flm predict`, 0.2-0.3 s of its 1.3 s. A function whose frame asks for a large stack makes
the interpreter give that frame a chunk of its own size rounded up to a power of two, so every frame stacked on
top of it in the call it makes finds room in that same chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Stack slots (8 bytes each) the calling frame reserves: 512 KiB, in a 1 MiB chunk with as much again free above
# it, where ~100 frames of a deep import or unpickling take a few tens of KiB.
RESERVE = 64 * 1024


def call_reserved(function: Callable[[], T]) -> T:
    """`function()`, from a frame that holds a large chunk of the frame stack for everything it calls."""
    return function()


try:
    call_reserved.__code__ = call_reserved.__code__.replace(co_stacksize=RESERVE)
except (AttributeError, TypeError, ValueError):  # not CPython: a plain call
    pass
