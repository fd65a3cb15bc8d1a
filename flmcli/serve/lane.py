"""The fast lane: the requests a model server mostly gets, answered without Starlette's per-request machinery.

A POST of a small body to a model's predict route (JSON in, JSON out, no query) or to v2 infer goes straight
to the route's own answer function (`app.predict_answer`, `v2.infer_answer`): no Request, no router, no
middleware closures, one body read, one timer for every request's timeout (`Deadlines`). It is the same answer,
the same errors, the same timeout and metrics as through the routes (`Guard`): only the way there is shorter. Everything else — other formats, query options,
compressed or large bodies, bodies without a Content-Length — goes through the app as before.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..errors import FlmError
from . import media
from .deadlines import Deadlines
from .errors import GatewayTimeout, RequestTimeout

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send

# The app's middleware after the lane, by class name, and how the lane does what each does for the requests it takes
# (they skip all of it): a middleware added after the lane and not mirrored here would be skipped for them.
# tests/serve/test_lane_mirrors_middleware.py fails when the app's list and this one differ.
MIRRORED: dict[str, str] = {
    "BodySizeLimit": "takes only bodies of a declared Content-Length within the body limit (`_plain`)",
    "ContentDecoding": "takes no Content-Encoding or Transfer-Encoding (`_plain`): those go through the app",
    "GzipAnswers": "answers of `gzip_above` bytes or more go through that middleware itself (`_answer`)",
}
# What a route in the lane does with a request's body and headers (lower-case names, latin-1 text).
Answer = Callable[[bytes, dict[bytes, bytes]], Awaitable["Response"]]
# Bodies up to this many bytes (and within the body limit) may take the lane: they are parsed on the event loop.
LANE_BODY = 64 * 1024


class Lane:
    """One route in the lane: how it answers, and what its metrics are recorded under."""

    __slots__ = ("answer", "record", "takes")

    def __init__(self, answer: Answer, record: Callable[[int, float], None],
                 takes: Callable[[dict[bytes, bytes]], bool] | None = None) -> None:
        self.answer = answer
        self.record = record
        self.takes = takes


def takes_json(headers: dict[bytes, bytes]) -> bool:
    """A predict request the lane answers: a JSON body answered in JSON (anything else, including a type it
    would refuse, is the app's to answer or refuse)."""
    try:
        content_type = _text(headers.get(b"content-type"))
        fmt = media.request_format(content_type)
        return fmt == "json" and media.takes_as_is(content_type) and media.response_format(_text(headers.get(b"accept")), fmt) == "json"
    except FlmError:
        return False


class FastLane:
    def __init__(self, app: ASGIApp, *, lanes: dict[str, Lane], max_body_size: int, timeout: float | None,
                 gzip_above: int, on_error: Callable[[str, FlmError], Response]) -> None:
        self.app = app
        self.lanes = lanes
        self.limit = min(LANE_BODY, max_body_size) if max_body_size > 0 else LANE_BODY
        self.timeout = timeout
        self.deadlines = Deadlines(timeout)
        self.gzip_above = gzip_above
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = None
        if scope["type"] == "http" and scope["method"] == "POST" and not scope["query_string"] \
                and not scope.get("root_path"):
            lane = self.lanes.get(scope["path"])
        if lane is not None:
            headers = dict(scope["headers"])  # a repeated header: the app's to judge
            if len(headers) == len(scope["headers"]) and self._plain(headers) \
                    and (lane.takes is None or lane.takes(headers)):
                await self._answer(lane, headers, scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _plain(self, headers: dict[bytes, bytes]) -> bool:
        """A body of a declared, small length, not compressed."""
        if b"content-encoding" in headers or b"transfer-encoding" in headers:
            return False
        length = headers.get(b"content-length")
        return length is not None and length.isdigit() and 0 < int(length) <= self.limit

    async def _answer(self, lane: Lane, headers: dict[bytes, bytes], scope: Scope, receive: Receive,
                      send: Send) -> None:
        started = time.perf_counter()
        status = 500
        done = False
        try:
            try:
                with self.deadlines.scope():
                    message = await receive()
                    body = message.get("body", b"")
                    while message.get("more_body", False):
                        message = await receive()
                        body += message.get("body", b"")
                    if message["type"] == "http.disconnect":
                        from starlette.requests import ClientDisconnect

                        raise ClientDisconnect()
                    done = True
                    response = await lane.answer(body, headers)
            except TimeoutError:
                if not done:
                    raise RequestTimeout(f"the request body did not arrive within {self.timeout:g} s",
                                         source="body") from None
                raise GatewayTimeout(f"no answer within {self.timeout:g} s") from None
            status = response.status_code
        except FlmError as error:
            status = error.http_status
            response = self.on_error(scope["path"], error)
        finally:
            lane.record(status, time.perf_counter() - started)
        if len(response.body) >= self.gzip_above:
            # What the app's GZip middleware does to a large answer, by that middleware.
            from .gzip_answers import GzipAnswers

            await GzipAnswers(response, minimum_size=self.gzip_above, compresslevel=5)(scope, receive, send)
        else:
            await response(scope, receive, send)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
