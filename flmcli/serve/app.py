"""The Starlette app: Flama's model routes, Open Inference Protocol v2, docs, schema and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import FlmError
from ..features import read_as_text
from ..options import ServeConfig
from . import bodies, media
from .batcher import SMALL_BODY, Batcher, Part
from .errors import GatewayTimeout, error_body
from .guard import Guard
from .metrics import Metrics
from .models import ServedModel

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from ..predictor import Predictor
    from .lane import Answer, Lane

logger = logging.getLogger("flm.serve")

# Responses up to this many rows are encoded on the event loop.
_INLINE_ROWS = 64
# JSON answers of plain numbers up to this many values are written on the event loop straight from the model calls'
# values (one orjson call: microseconds).
_INLINE_VALUES = 4096
# Bodies up to this many bytes are parsed on the event loop; larger ones on a worker thread, so one big request
# never stalls the others.
INLINE_BODY = 64 * 1024
# Responses of at least this many bytes are gzipped for clients that accept it.
GZIP_ABOVE = 1400


def create_app(
    predictors: Mapping[str, Predictor] | Predictor,
    config: ServeConfig | None = None,
    *,
    routes: Sequence[BaseRoute] = (),
    title: str = "flm serve",
    **settings: Any,
) -> Starlette:
    """An ASGI app serving each predictor under `/<name>/` (and at `/` when there is only one).

    `config` (or single `settings` such as `max_body_size=...` over it) holds the batching and limits,
    with `flm serve`'s defaults. `routes` are added as they are: custom endpoints find a model with
    `flmcli.serve.served_model(request, name)`.
    """
    config = (config or ServeConfig()).replace(**settings)
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from . import docs, v2
    from .decoding import ContentDecoding
    from .gzip_answers import GzipAnswers
    from .lane import FastLane
    from .limits import BodySizeLimit

    if not isinstance(predictors, Mapping):
        predictors = {"model": predictors}
    if not predictors:
        raise ValueError("create_app needs at least one model")
    metrics = Metrics()
    models = {
        name: ServedModel(
            name,
            predictor,
            Batcher(
                predictor,
                name=name,
                max_batch_size=config.max_batch_size,
                max_batch_delay_ms=config.max_batch_delay_ms,
                observe=metrics.observer(name),
            ),
        )
        for name, predictor in predictors.items()
    }
    guard = Guard(metrics, config.timeout)
    all_routes: list[BaseRoute] = v2.infer_routes(guard)
    single = len(models) == 1
    for served in models.values():
        prefixes = ["", f"/{served.name}"] if single else [f"/{served.name}"]
        for prefix in prefixes:
            all_routes.extend(model_routes(served, prefix, guard))
    if not single:
        all_routes.append(Route("/", _index, methods=["GET"], name="models"))
    all_routes.extend(v2.routes(guard))
    all_routes.extend(
        [
            Route("/schema/", docs.schema, methods=["GET"], include_in_schema=False),
            Route("/docs/", docs.page, methods=["GET"], include_in_schema=False),
            Mount("/docs/static", StaticFiles(directory=docs.assets_dir()), name="docs-static"),
            Route("/metrics", metrics.endpoint, methods=["GET"], include_in_schema=False),
        ]
    )
    all_routes.extend(routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from .. import formats

        # Import the row formats now: the first request should not pay for it, nor find a broken install.
        for fmt in ("json", "ndjson"):
            formats.reader(fmt), formats.encoder(fmt)
        yield
        for served in models.values():
            await served.batcher.aclose()

    lanes = fast_lanes(models, single, metrics, config.max_body_size)
    app = Starlette(
        routes=all_routes,
        middleware=[
            # First: the requests it takes skip everything after it (and are answered as it would answer them).
            Middleware(FastLane, lanes=lanes, max_body_size=config.max_body_size, timeout=config.timeout,
                       gzip_above=GZIP_ABOVE, on_error=flm_error_response),
            Middleware(BodySizeLimit, max_body_size=config.max_body_size),
            Middleware(ContentDecoding, max_body_size=config.max_body_size),
            Middleware(GzipAnswers, minimum_size=GZIP_ABOVE, compresslevel=5),
        ],
        exception_handlers={
            FlmError: _flm_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.models = models
    app.state.metrics = metrics
    app.state.title = title
    app.state.custom_routes = list(routes)
    app.state.guard = guard
    app.state.max_body_size = config.max_body_size
    return app


def fast_lanes(models: Mapping[str, ServedModel], single: bool, metrics: Metrics, max_body_size: int) -> dict[str, Lane]:
    """The fast lane's routes, by path: each model's predict routes and v2 infer, with their routes' metrics.
    Where two routes share a path the first is the one Starlette would route to, as here."""
    from . import v2
    from .lane import Lane, takes_json

    def predict(served: ServedModel, method: str) -> Answer:
        async def answer(body: bytes, headers: dict[bytes, bytes]) -> Response:
            return await predict_answer(served, method, False, "json", "json", body, max_body_size)

        return answer

    def infer(served: ServedModel) -> Answer:
        async def answer(body: bytes, headers: dict[bytes, bytes]) -> Response:
            length = headers.get(v2.HEADER_LENGTH.encode())
            content_type = headers.get(b"content-type")
            return await v2.infer_answer(served, body, None if length is None else length.decode("latin-1"),
                                         None if content_type is None else content_type.decode("latin-1"))

        return answer

    lanes: dict[str, Lane] = {}
    for served in models.values():
        lane = Lane(infer(served), metrics.recorder("v2", "infer"))
        lanes.setdefault(f"/v2/models/{served.name}/infer", lane)
        lanes.setdefault(f"/v2/models/{served.name}/versions/{v2.VERSION}/infer", lane)
    for served in models.values():
        for prefix in ["", f"/{served.name}"] if single else [f"/{served.name}"]:
            lanes.setdefault(f"{prefix}/predict/", Lane(predict(served, served.check_method(None)),
                                                        metrics.recorder(served.name, "predict"), takes_json))
            for method in served.methods:
                if method != "predict":
                    lanes.setdefault(f"{prefix}/{method}/", Lane(predict(served, served.check_method(method)),
                                                                 metrics.recorder(served.name, method), takes_json))
    return lanes


def model_routes(served: ServedModel, prefix: str, guard: Guard) -> list[BaseRoute]:
    from starlette.routing import Route

    async def inspect(request: Request) -> Response:
        from starlette.responses import JSONResponse

        return JSONResponse(served.inspect())

    async def predict(request: Request) -> Response:
        return await predict_response(request, served, None)

    routes: list[BaseRoute] = [
        Route(f"{prefix}/", guard(served.name, "inspect", inspect), methods=["GET"], name=f"{served.name}-inspect"),
        Route(f"{prefix}/predict/", guard(served.name, "predict", predict), methods=["POST"],
              name=f"{served.name}-predict"),
    ]
    for method in served.predictor.methods():
        if method == "predict":
            continue

        async def by_method(request: Request, method: str = method) -> Response:
            return await predict_response(request, served, method)

        routes.append(Route(f"{prefix}/{method}/", guard(served.name, method, by_method), methods=["POST"],
                            name=f"{served.name}-{method}"))
    return routes


async def predict_response(request: Request, served: ServedModel, route_method: str | None) -> Response:
    query = request.query_params
    bodies.check_query(query.multi_items(), route_method)
    method = served.check_method(query.get("method") or route_method)
    keep = bodies.keep_option(query.get("keep_input"), query.get("keep"))
    content_type = request.headers.get("content-type")
    fmt = media.request_format(content_type)
    out = media.response_format(request.headers.get("accept"), fmt)
    body = await request.body()
    if media.takes_as_is(content_type):
        pass
    elif len(body) <= INLINE_BODY:
        body = media.as_utf8(content_type, fmt, body)
    else:  # decoding a large body from another charset takes as long as parsing it: not on the event loop either
        from starlette.concurrency import run_in_threadpool

        body = await run_in_threadpool(media.as_utf8, content_type, fmt, body)
    return await predict_answer(served, method, keep, fmt, out, body, request.app.state.max_body_size)


async def predict_answer(served: ServedModel, method: str, keep: bool | list[str], fmt: str, out: str, body: bytes,
                         max_body_size: int) -> Response:
    """The answer to a predict request once its options are read: `body` in format `fmt`, answered in `out`."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response, StreamingResponse

    bodies.check_body(fmt, body)
    size = served.batcher.max_batch_size
    if fmt == "json" and len(body) <= INLINE_BODY:
        batches = bodies.json_batches(body, size)
    elif fmt == "json":
        batches = await run_in_threadpool(bodies.json_batches, body, size)
    else:
        batches = await run_in_threadpool(bodies.read_batches, fmt, body, size, max_body_size,
                                          functools.partial(read_as_text, served.predictor.spec))
    small = len(body) <= SMALL_BODY
    methods = (method,)
    if len(batches) == 1:  # one batch (almost every request): no task and gather per request
        parts = [(await served.batcher.submit_parts(batches[0], methods, small=small))[0]]
    else:
        parts = [found[0] for found in await asyncio.gather(
            *(served.batcher.submit_parts(batch, methods, small=small) for batch in batches))]
    media_type = media.RESPONSE_TYPES[out]
    if out == "json" and not keep and sum(part.length * part.width() for part in parts) <= _INLINE_VALUES:
        content = _flama_json(parts)
        if content is not None:
            return Response(content, media_type=media_type)
    scored = [part.scored() for part in parts]
    if out == "ndjson" and not keep:
        return StreamingResponse(bodies.encode(out, scored, keep), media_type=media_type)
    # Kept input may fail to encode at any row (a value nested past JSON's 255 levels): encoded whole first, so
    # that the failure is a 400 naming the row, not a 200 whose body stops short (as streamed NDJSON was).
    stream = bodies.flama_json(scored, keep) if out == "json" else bodies.encode(out, scored, keep)
    if sum(len(part.batch) for part in scored) <= _INLINE_ROWS:
        content = b"".join(stream)  # a few rows: cheaper than the hop to a thread
    else:
        content = await run_in_threadpool(b"".join, stream)
    return Response(content, media_type=media_type)


def _flama_json(parts: list[Part]) -> bytes | None:
    """`bodies.flama_json` of the parts' Scored rows, the same bytes, from the model calls' values (no slices,
    no frames); None when a part's outputs are not plain numbers, which the JSON writer then encodes."""
    import orjson

    if len(parts) == 1:
        values = parts[0].bare()
    else:
        values = []
        for part in parts:
            bare = part.bare()
            if bare is None:
                return None
            values.extend(bare)
    if values is None:
        return None
    return b'{"output":' + orjson.dumps(values) + b"}"


async def _index(request: Request) -> Response:
    from starlette.responses import JSONResponse

    models: dict[str, ServedModel] = request.app.state.models
    return JSONResponse({"models": {name: f"/{name}/" for name in models}})


async def _flm_error(request: Request, exc: Exception) -> Response:
    return flm_error_response(request.url.path, exc, request.method)


def flm_error_response(path: str, exc: Exception, method: str = "POST") -> Response:
    """The answer to a request that raised FlmError (its status, `{"error": ...}`); a server fault is logged."""
    from starlette.responses import Response

    status = getattr(exc, "http_status", 500)
    if status >= 500 and not isinstance(exc, GatewayTimeout):
        logger.error("%s %s: %s", method, path, exc)
    return Response(error_body(str(exc)), status_code=status, media_type="application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    from starlette.responses import Response

    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", "") or "error"
    if status == 404:
        detail = f"no route {request.url.path!r}; see /docs/ for the routes served"
    headers = getattr(exc, "headers", None)
    return Response(error_body(str(detail)), status_code=status, media_type="application/json", headers=headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    from starlette.responses import Response

    # The traceback goes to the server log (uvicorn prints it); the client only learns that it was not its fault.
    return Response(error_body("internal error"), status_code=500, media_type="application/json")


__all__ = ["create_app", "model_routes", "predict_answer", "predict_response"]
