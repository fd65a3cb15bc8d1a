"""HTTP-only errors: each carries the status a client sees, and a one-line message."""

from __future__ import annotations

from ..errors import FlmError, InputError


class NotFound(FlmError):
    http_status = 404


class UnsupportedMediaType(InputError):
    http_status = 415


class NotAcceptable(InputError):
    http_status = 406


class PayloadTooLarge(InputError):
    http_status = 413


class GatewayTimeout(FlmError):
    http_status = 504


class RequestTimeout(InputError):
    """The client did not finish sending its body in time: its fault, not the server's (504)."""

    http_status = 408


# Set in the ASGI scope by BodySizeLimit while a request body is being read: False until its last part came.
BODY_DONE = "flm.body_done"


# An error message echoes what the client sent: cut past this many characters so a huge bad value cannot
# make a huge answer (or log line).
MAX_ERROR_CHARS = 1000


def error_body(message: str) -> bytes:
    """What every error response carries: `{"error": "<one line>"}`."""
    import orjson

    if len(message) > MAX_ERROR_CHARS:
        cut = len(message) - MAX_ERROR_CHARS
        message = f"{message[: MAX_ERROR_CHARS - 200]} ...[{cut} characters cut]... {message[-200:]}"
    return orjson.dumps({"error": message})
