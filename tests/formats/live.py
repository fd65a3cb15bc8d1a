"""Feeding a reader through a real pipe one piece at a time, each written only once the last was answered."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import BinaryIO

from flmcli.batch import Batch


def answered_one_by_one(read: Callable[[BinaryIO], Iterable[Batch]], pieces: list[bytes], end: bytes = b"") -> list[Batch]:
    """The batches `read` yields while `pieces` arrive on a pipe that stays open between them; `end` is written
    last. A piece not answered within 20 s (the reader waiting for more input instead) fails the test."""
    read_fd, write_fd = os.pipe()
    got: list[Batch] = []
    answered = threading.Event()
    failures: list[str] = []

    def produce() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as out:
            for i, piece in enumerate(pieces):
                answered.clear()
                out.write(piece)
                if not answered.wait(20):
                    failures.append(f"row {i} not answered while the pipe stayed open")
                    return
            out.write(end)

    writer = threading.Thread(target=produce)
    writer.start()
    with os.fdopen(read_fd, "rb") as fp:
        for batch in read(fp):
            got.append(batch)
            answered.set()
    writer.join()
    assert not failures
    return got
