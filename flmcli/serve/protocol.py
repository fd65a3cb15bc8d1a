"""uvicorn's HTTP protocol with a deadline and a size bound for request headers.

uvicorn bounds the idle time between keep-alive requests but not the time a client takes to send a
request's headers, so a client trickling a byte at a time (or opening a socket and sending nothing) holds
a connection forever. Here a connection waiting for headers, at its start or once bytes of a next request
arrive, is closed when they are not complete within `header_timeout` seconds.

Nor does it bound their size with httptools, the parser it picks when installed (flm's serve extra installs
it): h11 stops at 64 KiB, httptools read a 256 MB header whole (the server's RSS +270 MB, for one request; a
few clients at once would end it). Headers still incomplete after MAX_HEADER_BYTES are answered 431 and the
connection closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

# What h11 holds a request's headers to; browsers and HTTP clients send a few kB.
MAX_HEADER_BYTES = 64 * 1024
_TOO_LARGE = b'{"error": "header: the request headers are larger than 65536 bytes"}'


def _header_part(data: bytes) -> int:
    """How many bytes of `data` are headers: up to the blank line that ends them (CRLF, or a bare LF as parsers
    take), or all of it."""
    ends = [at + len(blank) for blank in (b"\r\n\r\n", b"\n\n") if (at := data.find(blank)) >= 0]
    return min(ends) if ends else len(data)


def configure(header_timeout: float) -> None:
    """Set the deadline for every connection this process accepts from now on (ServeConfig.header_timeout).

    A class setting, not a constructor argument: uvicorn builds the protocol itself, and with several workers
    each worker process sets it from the ServeConfig it was handed, before it accepts a connection.
    """
    HeaderDeadlineProtocol.header_timeout = max(0.0, float(header_timeout))


class HeaderDeadlineProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0  # received while the next request's headers are incomplete
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        waiting = self._between_requests()
        if waiting:
            if self._header_timer is None:
                self._arm()
            # Checked before the parser holds them: one read may bring the whole of a large header block.
            if self._header_bytes + _header_part(self._tail + data) - len(self._tail) > MAX_HEADER_BYTES:
                self._refuse_headers()
                return
        super().data_received(data)
        if not self._between_requests():  # the headers are complete (the rest of `data` is body)
            self._header_bytes = 0
            self._tail = b""
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
        elif waiting:
            self._header_bytes += len(data)
            self._tail = data[-3:]  # a blank line split between two reads

    def _refuse_headers(self) -> None:
        self._header_bytes = MAX_HEADER_BYTES + 1  # whatever else comes on this connection is refused too
        transport = getattr(self, "transport", None)
        if transport is None or transport.is_closing():
            return
        transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                        b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE), _TOO_LARGE))
        transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        cycle = getattr(self, "cycle", None)
        return cycle is None or bool(cycle.response_complete)

    def _arm(self) -> None:
        if self.header_timeout > 0:
            self._header_timer = self.loop.call_later(self.header_timeout, self._expire)

    def _expire(self) -> None:
        self._header_timer = None
        transport = getattr(self, "transport", None)
        if self._between_requests() and transport is not None and not transport.is_closing():
            transport.close()
