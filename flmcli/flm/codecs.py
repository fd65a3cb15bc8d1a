"""The four FLM codecs, with a hard bound on what any decompression may produce.

Every declared size in an FLM file is attacker-controlled, so nothing here trusts one:
streams are inflated incrementally in bounded chunks and the running total is checked
against a `Budget` shared by every section of one file.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from dataclasses import dataclass
from typing import TypeAlias

from ..errors import ModelFileError

# The most bytes one file may decompress to, all sections together. Real models are far
# smaller; the bound exists so a 1 KiB zstd bomb cannot take the machine down.
MAX_DECOMPRESSED_BYTES = 2 << 30

#: what the decompressors take: sections are memoryview slices of the file, not copies
Data: TypeAlias = bytes | bytearray | memoryview

CHUNK = 1 << 20
ZSTD_SLICE = 1 << 12

#: compression ids as stored in the binary header and the protocol-2 section bytes
CODEC_IDS: dict[int, str] = {1: "bz2", 2: "lzma", 3: "zlib", 4: "zstd"}
CODEC_NUMBERS: dict[str, int] = {name: number for number, name in CODEC_IDS.items()}


class DecompressionBomb(ModelFileError):
    """A stream inflated past the file's budget; never retried with another interpretation."""


@dataclass
class Budget:
    """How many decompressed bytes a file may still produce."""

    limit: int = MAX_DECOMPRESSED_BYTES
    used: int = 0

    def take(self, size: int, what: str) -> None:
        self.used += size
        if self.used > self.limit:
            raise DecompressionBomb(
                f"{what} decompresses to more than {self.limit} bytes; refusing it as a possible decompression bomb"
            )


def _inflate_bz2_lzma(decompressor: bz2.BZ2Decompressor | lzma.LZMADecompressor, data: Data, budget: Budget,
                      what: str) -> bytes:
    parts: list[bytes] = []
    chunk = decompressor.decompress(data, max_length=CHUNK)
    while True:
        budget.take(len(chunk), what)
        parts.append(chunk)
        if decompressor.eof:
            break
        if decompressor.needs_input:
            raise ModelFileError(f"{what} is truncated: its compressed stream ends early")
        chunk = decompressor.decompress(b"", max_length=CHUNK)
    return b"".join(parts)


def _inflate_zlib(data: Data, budget: Budget, what: str, wbits: int = zlib.MAX_WBITS) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    parts: list[bytes] = []
    pending: Data = data
    while True:
        chunk = decompressor.decompress(pending, CHUNK)
        budget.take(len(chunk), what)
        parts.append(chunk)
        if decompressor.eof:
            break
        pending = decompressor.unconsumed_tail
        if not chunk and not pending:
            raise ModelFileError(f"{what} is truncated: its compressed stream ends early")
    return b"".join(parts)


def _inflate_zstd(data: Data, budget: Budget, what: str) -> bytes:
    import zstandard

    # A decompression object decodes frames with or without a declared content size (Flama
    # 2.x omits it). It has no max_length, so input goes in small slices: one zstd block of
    # at most 4 input bytes can expand to 128 KiB, which bounds each step to ZSTD_SLICE * 32 Ki.
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    parts: list[bytes] = []
    view = memoryview(data)
    for start in range(0, len(view), ZSTD_SLICE):
        chunk = decompressor.decompress(view[start : start + ZSTD_SLICE])
        budget.take(len(chunk), what)
        parts.append(chunk)
        if decompressor.eof:
            break
    if not decompressor.eof:
        raise ModelFileError(f"{what} is truncated: its compressed stream ends early")
    return b"".join(parts)


def decompress(codec: str, data: Data, *, budget: Budget, what: str) -> bytes:
    """Decompress one stream, naming `what` (e.g. "meta section") in any error."""
    try:
        if codec == "none":
            budget.take(len(data), what)
            return bytes(data)
        if codec == "bz2":
            return _inflate_bz2_lzma(bz2.BZ2Decompressor(), data, budget, what)
        if codec == "lzma":
            # FORMAT_AUTO reads both the .xz container (Flama 1.12) and LZMA-alone (Flama 2.x)
            return _inflate_bz2_lzma(lzma.LZMADecompressor(lzma.FORMAT_AUTO), data, budget, what)
        if codec == "zlib":
            return _inflate_zlib(data, budget, what)
        if codec == "gzip":
            return _inflate_zlib(data, budget, what, wbits=zlib.MAX_WBITS | 16)
        if codec == "zstd":
            return _inflate_zstd(data, budget, what)
    except ModelFileError:
        raise
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise ModelFileError(f"{what}: corrupt {codec} data ({exc})") from None
    except Exception as exc:  # zstandard.ZstdError does not derive from a stdlib error
        if type(exc).__name__ == "ZstdError":
            raise ModelFileError(f"{what}: corrupt zstd data ({exc})") from None
        raise
    raise ModelFileError(f"{what}: unknown compression {codec!r}")


def compress(codec: str, data: bytes) -> bytes:
    """Compress `data` the way Flama 2.x writes `codec`, so every 2.x release can read it."""
    if codec == "none":
        return bytes(data)
    if codec == "bz2":
        return bz2.compress(data, 9)
    if codec == "lzma":
        # Flama 2.x decodes only LZMA-alone (properties 0x5D, 8 MiB dictionary, end marker)
        return lzma.compress(data, format=lzma.FORMAT_ALONE)
    if codec == "zlib":
        return zlib.compress(data)
    if codec == "zstd":
        import zstandard

        # like the zstd crate's streaming encoder: one frame, no content size, no checksum
        return zstandard.ZstdCompressor(level=3, write_content_size=False).compress(data)
    raise ValueError(f"unknown compression {codec!r}; expected one of bz2, lzma, zlib, zstd")
