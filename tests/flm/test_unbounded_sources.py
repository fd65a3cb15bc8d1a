"""A model "file" that never ends (/dev/zero, /dev/urandom, a FIFO fed by `yes`) is refused from its first
bytes, or once it passes what a model file can hold: `flm inspect /dev/zero` read until the machine ran out of
memory (22 GB in 30 s), and a 3 GB FIFO of text was read whole before its first four bytes were judged."""

from __future__ import annotations

import io
import struct

import pytest

import flmcli
from flmcli.errors import ModelFileError

CEILING = 64 << 20  # more than any of these sources should be read before the verdict


class Endless(io.RawIOBase):
    """`prefix`, then `fill` forever; counts what was read and stops the test past CEILING."""

    def __init__(self, fill: bytes, prefix: bytes = b"") -> None:
        self.pending = prefix
        self.fill = fill
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), 1 << 20)
        chunk = (self.pending + self.fill * (size // len(self.fill) + 1))[:size]
        self.pending = self.pending[len(chunk):]
        self.taken += len(chunk)
        if self.taken > CEILING:
            raise AssertionError("the loader kept reading an endless source")
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("fill, words", [(b"\x00", "unknown protocol 0"), (b"y\n", "not an FLM model file"),
                                         (b"\xff\x13\x7a", "not an FLM model file")])
def test_an_endless_source_is_judged_by_its_first_bytes(fill: bytes, words: str) -> None:
    source = Endless(fill)
    with pytest.raises(ModelFileError, match=words):
        flmcli.load(io.BufferedReader(source))
    assert source.taken <= 1 << 20


def test_a_binary_header_over_an_endless_body_stops_at_what_it_declares() -> None:
    source = Endless(b"\x00", prefix=struct.pack("!IIQ", 2, 4, 1000))
    with pytest.raises(ModelFileError):
        flmcli.load(io.BufferedReader(source))
    assert source.taken <= 1 << 20


def test_a_huge_declared_body_stops_at_the_size_limit() -> None:
    source = Endless(b"\x00", prefix=struct.pack("!IIQ", 2, 4, 1 << 60))
    with pytest.raises(ModelFileError, match="larger than"):
        flmcli.load(io.BufferedReader(source), max_size=8 << 20)
    assert source.taken <= 16 << 20
