"""The process's standard streams as the commands see them (httpie's Environment): tests pass their own."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO, cast


@dataclass(frozen=True, slots=True)
class Environment:
    stdin: BinaryIO
    stdout: BinaryIO
    stderr: BinaryIO
    stdout_isatty: bool = False
    stderr_isatty: bool = False

    @classmethod
    def from_sys(cls) -> Environment:
        """The streams of this moment (click's CliRunner swaps sys.stdout and friends while a command runs)."""
        return cls(
            stdin=sys.stdin.buffer,
            stdout=whole_writes(sys.stdout.buffer),
            stderr=sys.stderr.buffer,
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
        )


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


def whole_writes(stream: BinaryIO) -> BinaryIO:
    """Under PYTHONUNBUFFERED=1 (or -u) stdout's binary layer is a raw file, whose write() may take only part of
    what it is given (a pipe whose reader just left, a signal) and report it only in its return value: the rest
    would be lost with exit 0. Writing the remainder makes a gone reader fail the next write (exit 141)."""
    return cast(BinaryIO, _WholeWrites(stream)) if isinstance(stream, io.RawIOBase) else stream


class _WholeWrites:
    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            written = self._raw.write(view[done:])
            if written is None:  # a non-blocking stdout that is full: what a BufferedWriter would raise
                raise BlockingIOError(0, "stdout would block", done)
            done += written
        return done

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)
