"""Large answers gzipped for the clients whose Accept-Encoding accepts gzip, read as RFC 9110 §12.5.3 says.

Starlette's GZipMiddleware looks for "gzip" anywhere in the header: `gzip;q=0` (gzip refused) and `x-gzip;q=0`
were answered in gzip, and `*` (anything) was not. Here a coding counts with its weight: gzip (or x-gzip) when
listed, else `*`; a weight of 0 refuses it. Compression itself is Starlette's, unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware, GZipResponder, IdentityResponder

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send


def accepts_gzip(value: str) -> bool:
    """Whether an Accept-Encoding value (several headers joined by commas) accepts a gzip answer."""
    listed: float | None = None
    anything: float | None = None
    for item in value.split(","):
        coding, _, parameters = item.partition(";")
        coding = coding.strip().lower()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _, number = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(number.strip())
                except ValueError:
                    weight = 0.0  # not a weight: not an acceptance either
        if coding == "*":
            anything = weight if anything is None else max(anything, weight)
        else:
            listed = weight if listed is None else max(listed, weight)
    chosen = listed if listed is not None else anything
    return chosen is not None and chosen > 0


class GzipAnswers(GZipMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        responder: ASGIApp
        if accepts_gzip(", ".join(Headers(scope=scope).getlist("accept-encoding"))):
            responder = GZipResponder(self.app, self.minimum_size, compresslevel=self.compresslevel,
                                      thread_minimum_size=self.thread_minimum_size,
                                      exclude_content_types=self.exclude_content_types)
        else:
            responder = IdentityResponder(self.app, self.minimum_size, exclude_content_types=self.exclude_content_types)
        await responder(scope, receive, send)
