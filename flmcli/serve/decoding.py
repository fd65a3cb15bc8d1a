"""Compressed request bodies (`Content-Encoding: gzip` or `deflate`, or several one over the other), decoded
before any route reads them.

The decompressed size counts against the same body limit as a plain body, checked as it is produced: a
small body that would inflate past the limit is refused with 413 after at most `limit` bytes of output (of each
layer, for several codings).
The body is decoded when the endpoint first reads it, so errors reach the app's handlers (400, 413, 415).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from ..errors import InputError
from .errors import PayloadTooLarge, UnsupportedMediaType

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

ENCODINGS = ("gzip", "x-gzip", "deflate", "identity")
# Codings applied one over the other (`Content-Encoding: gzip, gzip`, RFC 9110 8.4) are undone in turn, each
# layer's output bounded by the body limit; a few are plenty for any client, more only multiply the work.
MAX_LAYERS = 4
# Compressed bodies above this are inflated on a worker thread, not on the event loop.
_THREAD_ABOVE = 256 * 1024
_STEP = 1 << 20


class ContentDecoding:
    def __init__(self, app: ASGIApp, *, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Every Content-Encoding header, in order: two headers are one list (RFC 9110 5.3), the last coding applied last.
        named = [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == b"content-encoding"]
        listed = [coding.strip().lower() for coding in ",".join(named).split(",")]
        codings = [coding for coding in listed if coding not in ("", "identity")]
        if not codings:
            await self.app(scope, receive, send)
            return
        # Downstream sees a plain body of unknown length.
        scope = dict(scope)
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
        limit = self.max_body_size
        done = False

        async def decoded() -> Message:
            nonlocal done
            if done:
                return await receive()
            done = True
            unknown = next((coding for coding in codings if coding not in ENCODINGS), None)
            if unknown is not None:
                raise UnsupportedMediaType(
                    f"unsupported Content-Encoding {unknown[:40]!r}; send gzip, deflate or identity",
                    field="Content-Encoding",
                )
            if len(codings) > MAX_LAYERS:
                raise UnsupportedMediaType(
                    f"{len(codings)} content codings, one over the other; send at most {MAX_LAYERS}",
                    field="Content-Encoding",
                )
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            plain = b"".join(chunks)
            for _ in codings:  # the last applied is undone first; gzip and deflate are told apart by their header
                if len(plain) > _THREAD_ABOVE:
                    from starlette.concurrency import run_in_threadpool

                    plain = await run_in_threadpool(inflate, plain, limit)
                else:
                    plain = inflate(plain, limit)
            return {"type": "http.request", "body": plain, "more_body": False}

        await self.app(scope, decoded, send)


def inflate(body: bytes, limit: int) -> bytes:
    """gzip or zlib-wrapped deflate (the header tells which); several gzip members are one body."""
    out: list[bytes] = []
    size = 0
    data = body
    while data:
        # 32 + MAX_WBITS: a gzip or a zlib header, detected.
        inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)
        try:
            while data and not inflater.eof:
                room = _STEP if limit <= 0 else min(_STEP, limit - size + 1)
                chunk = inflater.decompress(data, room)
                size += len(chunk)
                if 0 < limit < size:
                    raise PayloadTooLarge(f"request body inflates past the limit of {limit} bytes", source="body")
                out.append(chunk)
                data = inflater.unconsumed_tail
        except zlib.error as error:
            raise InputError(f"cannot decompress the body: {error}", source="body") from None
        if not inflater.eof:
            raise InputError("cannot decompress the body: it ends before the compressed stream does", source="body")
        data = inflater.unused_data
    return b"".join(out)
