"""The four FLM codecs, with a hard bound on what any decompression may produce.

Every declared size in an FLM file is attacker-controlled, so nothing here trusts one:
streams are inflated incrementally in bounded chunks and the running total is checked
against a `Budget` shared by every section of one file.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import ModelFileError

# The most bytes one file may decompress to, all sections together. Real models are far
# smaller; the bound exists so a 1 KiB zstd bomb cannot take the machine down.
MAX_DECOMPRESSED_BYTES = 2 << 30

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


def _trailing(extra: bytes | memoryview, what: str, codec: str) -> None:
    # a second member or frame after the first would be ignored by some readers and read by others
    if len(extra):
        raise ModelFileError(f"{what}: {len(extra)} unexpected bytes after the end of the {codec} stream; refusing it")


def _inflate_bz2_lzma(make: Callable[[], bz2.BZ2Decompressor | lzma.LZMADecompressor], data: bytes | memoryview,
                      budget: Budget, what: str, codec: str) -> bytes:
    def steps(decompressor: bz2.BZ2Decompressor | lzma.LZMADecompressor) -> Iterator[bytes]:
        chunk = decompressor.decompress(data, max_length=CHUNK)
        while True:
            yield chunk
            if decompressor.eof:
                break
            if decompressor.needs_input:
                raise ModelFileError(f"{what} is truncated: its compressed stream ends early")
            chunk = decompressor.decompress(b"", max_length=CHUNK)
        _trailing(decompressor.unused_data, what, codec)

    return _collect(lambda: steps(make()), budget, what)


def _inflate_zlib(data: bytes | memoryview, budget: Budget, what: str, wbits: int = zlib.MAX_WBITS) -> bytes:
    def steps() -> Iterator[bytes]:
        decompressor = zlib.decompressobj(wbits)
        pending: bytes | memoryview = data
        while True:
            chunk = decompressor.decompress(pending, CHUNK)
            yield chunk
            if decompressor.eof:
                break
            pending = decompressor.unconsumed_tail
            if not chunk and not pending:
                raise ModelFileError(f"{what} is truncated: its compressed stream ends early")
        _trailing(decompressor.unused_data, what, "gzip" if wbits & 16 else "zlib")

    return _collect(steps, budget, what)


def _inflate_zstd(data: bytes | memoryview, budget: Budget, what: str) -> bytes:
    import zstandard

    view = memoryview(data)
    declared = zstandard.frame_content_size(view[:18]) if len(view) >= 6 else -1
    if declared > budget.limit - budget.used:
        budget.take(declared, what)  # the frame says how big it is: refuse before producing a byte
    dctx = zstandard.ZstdDecompressor()

    def count() -> Iterator[bytes]:
        # bounded output steps, but blind to truncation and trailing data: only for counting
        yield from dctx.read_to_iter(view, read_size=1 << 16, write_size=CHUNK)

    def steps() -> Iterator[bytes]:
        # A decompression object reports the end of the frame and what follows it, but has no
        # max_length: input goes in small slices, and one zstd block of at most 4 input bytes can
        # expand to 128 KiB, which bounds each step to ZSTD_SLICE * 32 Ki.
        decompressor = dctx.decompressobj()
        start = 0
        while start < len(view) and not decompressor.eof:
            yield decompressor.decompress(view[start : start + ZSTD_SLICE])
            start += ZSTD_SLICE
        if not decompressor.eof:
            raise ModelFileError(f"{what} is truncated: its compressed stream ends early")
        _trailing(bytes(decompressor.unused_data) + bytes(view[start:]), what, "zstd")

    return _collect(steps, budget, what, count=count)


def _collect(steps: Callable[[], Iterator[bytes]], budget: Budget, what: str,
             count: Callable[[], Iterator[bytes]] | None = None) -> bytes:
    """Run a decompression twice: first only counting its output against the budget (a refused bomb
    costs one chunk of memory, never the budget), then keeping it in one growing buffer (memory
    follows the output once, never a list of chunks plus their join)."""
    trial = Budget(budget.limit, budget.used)
    for chunk in (count or steps)():
        trial.take(len(chunk), what)
    out = io.BytesIO()
    for chunk in steps():
        budget.take(len(chunk), what)
        out.write(chunk)
    return out.getvalue()


def checksummed(codec: str, data: bytes | memoryview) -> bool:
    """Whether a stream of `codec` carries a checksum of its content that decompression verifies."""
    if codec in ("bz2", "zlib", "gzip"):
        return True  # bz2 block and stream CRCs, zlib's Adler-32, gzip's CRC-32
    if codec == "lzma":
        return bytes(data[:6]) == b"\xfd7zXZ\x00"  # the .xz container has a check; LZMA-alone (Flama 2.x) none
    if codec == "zstd":
        import zstandard

        try:
            return bool(zstandard.get_frame_parameters(bytes(data[:18])).has_checksum)
        except zstandard.ZstdError:
            return False
    return False


def decompress(codec: str, data: bytes | memoryview, *, budget: Budget, what: str) -> bytes:
    """Decompress one stream, naming `what` (e.g. "meta section") in any error."""
    try:
        if codec == "none":
            budget.take(len(data), what)
            return bytes(data)
        if codec == "bz2":
            return _inflate_bz2_lzma(bz2.BZ2Decompressor, data, budget, what, "bz2")
        if codec == "lzma":
            # FORMAT_AUTO reads both the .xz container (Flama 1.12) and LZMA-alone (Flama 2.x)
            return _inflate_bz2_lzma(lambda: lzma.LZMADecompressor(lzma.FORMAT_AUTO), data, budget, what, "lzma")
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

        # like the zstd crate's streaming encoder (one frame, no content size), plus a content checksum
        # that every zstd decoder verifies, so a flipped bit is an error rather than a different model
        return zstandard.ZstdCompressor(level=3, write_content_size=False, write_checksum=True).compress(data)
    raise ValueError(f"unknown compression {codec!r}; expected one of bz2, lzma, zlib, zstd")
