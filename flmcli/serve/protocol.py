"""uvicorn's HTTP protocol with a deadline for request headers.

uvicorn bounds the idle time between keep-alive requests but not the time a client takes to send a
request's headers, so a client trickling a byte at a time (or opening a socket and sending nothing) holds
a connection forever. Here a connection waiting for headers, at its start or once bytes of a next request
arrive, is closed when they are not complete within `header_timeout` seconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol


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

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self._between_requests():
            self._arm()
        super().data_received(data)
        if self._header_timer is not None and not self._between_requests():
            self._header_timer.cancel()
            self._header_timer = None

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
