"""Read a binary stream in large chunks, and tell when a live producer has gone quiet.

Bulk input is read `CHUNK_SIZE` bytes at a time with one `read1` (one raw read, so a pipe
returns what it has instead of waiting for the whole size). Only when a chunk is used up
and rows are pending does the reader ask `select` whether more is coming within the delay.

A pipe gives at most what its buffer holds (64 KiB on Linux) a read: a reader that parsed each such piece
on its own (csv_live: one pyarrow read_csv per piece) spent ~1.5x the CPU of a file's run. So a read from a
pipe also takes what is already waiting behind it (never waiting for more), and the pipe's buffer is widened
where the system lets us, so a producer that is ahead leaves more waiting.
"""

from __future__ import annotations

import os
import select
import stat
import time
from typing import BinaryIO

CHUNK_SIZE = 1 << 20
# The pipe buffer asked for (Linux's default ceiling for an unprivileged process, /proc/sys/fs/pipe-max-size).
PIPE_SIZE = 1 << 20


class ChunkSource:
    def __init__(self, fp: BinaryIO, size: int = CHUNK_SIZE) -> None:
        self._read = getattr(fp, "read1", fp.read)
        self.size = size  # bytes asked of the next read; a reader may change it between reads
        self.total = 0  # bytes read so far
        self.fd = _live_fd(fp)
        self._ended = False  # a read gave the end of input: a terminal's end (^D) is not given twice
        if self.fd is not None:
            _widen_pipe(self.fd)

    @property
    def live(self) -> bool:
        """True for pipes, sockets and terminals, where input may pause: regular files never do."""
        return self.fd is not None

    def read(self) -> bytes:
        """The next chunk, b"" at end of input. Blocks only until *some* bytes are available; from a pipe,
        takes what else is already there too, up to the size."""
        if self._ended:
            return b""
        data = self._read(self.size)
        if self.fd is not None and data and len(data) < self.size:
            parts = [data]
            total = len(data)
            while total < self.size and self.ready(0):
                more = self._read(self.size - total)
                if not more:
                    self._ended = True
                    break
                parts.append(more)
                total += len(more)
            data = b"".join(parts) if len(parts) > 1 else data
        self.total += len(data)
        return data

    def ready(self, timeout: float) -> bool:
        """Whether a read would return without waiting longer than `timeout` seconds."""
        if self.fd is None:
            return True
        readable, _, _ = select.select([self.fd], [], [], timeout)
        return bool(readable)


class Pause:
    """When live input has gone quiet: a partial batch is due `max_delay` seconds after its first row arrived,
    unless more input is ready by then. The one rule of every reader that flushes partial batches."""

    def __init__(self, chunks: ChunkSource, max_delay: float | None) -> None:
        self._chunks = chunks
        self.live = max_delay is not None and chunks.live
        self._delay = max_delay or 0.0
        self._since = 0.0

    def restart(self) -> None:
        """The first row of a new pending batch has just arrived."""
        if self.live:
            self._since = time.monotonic()

    def due(self, pending: int) -> bool:
        """Whether `pending` rows should go now; waits (in `select`) at most until the delay is up."""
        if not self.live or not pending:
            return False
        return not self._chunks.ready(max(0.0, self._since + self._delay - time.monotonic()))


def _widen_pipe(fd: int) -> None:
    """Ask for a pipe buffer of PIPE_SIZE (a best effort: not every system has F_SETPIPE_SZ or allows it)."""
    import fcntl

    getpipe, setpipe = getattr(fcntl, "F_GETPIPE_SZ", None), getattr(fcntl, "F_SETPIPE_SZ", None)
    try:
        if (getpipe is not None and setpipe is not None and stat.S_ISFIFO(os.fstat(fd).st_mode)
                and fcntl.fcntl(fd, getpipe) < PIPE_SIZE):
            fcntl.fcntl(fd, setpipe, PIPE_SIZE)
    except OSError:  # over the user's pipe quota, or the limit lowered: the pipe stays as it was
        pass


def _live_fd(fp: BinaryIO) -> int | None:
    try:
        fd = fp.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return None  # BytesIO, HTTP bodies: everything is already there
    if os.name != "posix" or stat.S_ISREG(mode):
        return None
    # select() is only correct when nothing sits in a Python-side buffer; read1 with a size above
    # the buffer size empties it on the first call, and after that bypasses it.
    return fd
