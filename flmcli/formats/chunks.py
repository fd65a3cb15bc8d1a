"""Read a binary stream in large chunks, and tell when a live producer has gone quiet.

Bulk input is read `CHUNK_SIZE` bytes at a time with one `read1` (one raw read, so a pipe
returns what it has instead of waiting for the whole size). Only when a chunk is used up
and rows are pending does the reader ask `select` whether more is coming within the delay.
"""

from __future__ import annotations

import os
import select
import stat
from typing import BinaryIO

CHUNK_SIZE = 1 << 20


class ChunkSource:
    def __init__(self, fp: BinaryIO, size: int = CHUNK_SIZE) -> None:
        self._read = getattr(fp, "read1", fp.read)
        self._size = size
        self.fd = _live_fd(fp)

    @property
    def live(self) -> bool:
        """True for pipes, sockets and terminals, where input may pause: regular files never do."""
        return self.fd is not None

    def read(self) -> bytes:
        """The next chunk, b"" at end of input. Blocks only until *some* bytes are available."""
        return self._read(self._size)

    def ready(self, timeout: float) -> bool:
        """Whether a read would return without waiting longer than `timeout` seconds."""
        if self.fd is None:
            return True
        readable, _, _ = select.select([self.fd], [], [], timeout)
        return bool(readable)


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
