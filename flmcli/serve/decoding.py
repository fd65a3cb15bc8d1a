"""Compressed request bodies (`Content-Encoding: gzip` or `deflate`), decoded before any route reads them.

The decompressed size counts against the same body limit as a plain body, checked as it is produced: a
small body that would inflate past the limit is refused with 413 after at most `limit` bytes of output.
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
        encoding = None
        for key, value in scope.get("headers", ()):
            if key == b"content-encoding":
                encoding = value.decode("latin-1").strip().lower()
        if encoding is None or encoding in ("", "identity"):
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
            if encoding not in ENCODINGS:
                raise UnsupportedMediaType(
                    f"unsupported Content-Encoding {encoding[:40]!r}; send gzip, deflate or identity",
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
            body = b"".join(chunks)
            if len(body) > _THREAD_ABOVE:
                from starlette.concurrency import run_in_threadpool

                plain = await run_in_threadpool(inflate, body, limit)
            else:
                plain = inflate(body, limit)
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
