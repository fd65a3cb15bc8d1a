"""Request body size limit: 413 from the Content-Length header, or as soon as a streamed body passes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import BODY_DONE, PayloadTooLarge, error_body

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_body_size <= 0:
            await self.app(scope, receive, send)
            return
        limit = self.max_body_size
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _refuse(send, declared, limit)
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            scope.setdefault(BODY_DONE, False)
            message = await receive()
            if message["type"] == "http.request":
                scope[BODY_DONE] = not message.get("more_body", False)
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside the endpoint's `await request.body()`: the FlmError handler answers 413.
                    raise PayloadTooLarge(f"request body is larger than {limit} bytes", source="body")
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, declared: int, limit: int) -> None:
    body = error_body(f"body: request body of {declared} bytes is larger than the limit of {limit} bytes")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
