"""Prometheus metrics for one app: its own registry, so several apps in one process never collide.

With `--workers N` each worker counts its own requests; set PROMETHEUS_MULTIPROC_DIR to have
prometheus-client aggregate them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("model", "route")
        self.requests = Counter("flm_requests", "HTTP requests served", labels, registry=self.registry)
        self.errors = Counter("flm_request_errors", "HTTP requests answered 4xx/5xx", (*labels, "status"),
                              registry=self.registry)
        self.latency = Histogram("flm_request_duration_seconds", "Request latency", labels,
                                 buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.batch_rows = Histogram("flm_batch_rows", "Rows per model call", ("model",),
                                    buckets=_SIZE_BUCKETS, registry=self.registry)
        self.batch_requests = Histogram("flm_batch_requests", "Requests merged into one model call", ("model",),
                                        buckets=_SIZE_BUCKETS, registry=self.registry)
        self.rows = Counter("flm_rows_scored", "Rows scored", ("model",), registry=self.registry)

    def observer(self, model: str):  # type: ignore[no-untyped-def]
        rows_hist = self.batch_rows.labels(model)
        requests_hist = self.batch_requests.labels(model)
        rows = self.rows.labels(model)

        def observe(n_rows: int, n_requests: int) -> None:
            rows_hist.observe(n_rows)
            requests_hist.observe(n_requests)
            rows.inc(n_rows)

        return observe

    def record(self, model: str, route: str, status: int, seconds: float) -> None:
        self.recorder(model, route)(status, seconds)

    def recorder(self, model: str, route: str) -> Callable[[int, float], None]:
        """`record` for one route, its counters looked up on its first request only (each lookup takes a lock;
        before the first, /metrics shows no series for the route, as before)."""
        bound: list[Any] = []

        def record(status: int, seconds: float) -> None:
            if not bound:
                bound.extend((self.requests.labels(model, route), self.latency.labels(model, route)))
            bound[0].inc()
            bound[1].observe(seconds)
            if status >= 400:
                self.errors.labels(model, route, str(status)).inc()

        return record

    async def endpoint(self, request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
        from starlette.responses import Response

        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
