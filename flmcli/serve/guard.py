"""Every model endpoint's per-request timeout and metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..errors import FlmError
from .errors import BODY_DONE, GatewayTimeout, RequestTimeout

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from .metrics import Metrics

Endpoint = Callable[["Request"], Awaitable["Response"]]


class Guard:
    """Wraps an endpoint with the per-request timeout and its metrics."""

    def __init__(self, metrics: Metrics, timeout: float | None) -> None:
        self.metrics = metrics
        self.timeout = timeout

    def __call__(self, model: str, route: str, endpoint: Endpoint) -> Endpoint:
        record = self.metrics.recorder(model, route)

        async def guarded(request: Request) -> Response:
            started = time.perf_counter()
            status = 500
            try:
                try:
                    async with asyncio.timeout(self.timeout):
                        response = await endpoint(request)
                except TimeoutError:
                    if request.scope.get(BODY_DONE) is False:
                        raise RequestTimeout(f"the request body did not arrive within {self.timeout:g} s",
                                             source="body") from None
                    raise GatewayTimeout(f"no answer within {self.timeout:g} s") from None
                status = response.status_code
                return response
            except FlmError as error:
                status = error.http_status
                raise
            finally:
                record(status, time.perf_counter() - started)

        guarded.__name__ = getattr(endpoint, "__name__", route)
        guarded.__doc__ = endpoint.__doc__
        return guarded
