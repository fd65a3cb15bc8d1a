"""The row nesting limit: how deep JSON input may nest, checked before any parser builds it. Stdlib only.

orjson refuses more than 1024 levels by itself; the incremental parser (ijson) and Python's `json` do not,
and ijson's cost grows with the square of the depth (100k `[` took gigabytes). So every JSON path gets the
same limit: orjson's, reported in one message, and text headed for ijson goes through `DepthGuard` first.
"""

from __future__ import annotations

import re
from itertools import accumulate

from flmcli.errors import InputError

NESTING_LIMIT = 1024  # levels of arrays and objects, orjson's own limit

# A complete JSON string, and the longest run of text and complete strings from the start (possessive: an
# unterminated string is scanned once, never retried from each escaped quote inside it).
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_CLOSED = re.compile(rb'(?:[^"]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
for _open in b"[{":
    _STEP[_open] = 1
for _close in b"]}":
    _STEP[_close] = -1


def too_deep(source: str | None, line: int | None = None, limit: int = NESTING_LIMIT) -> InputError:
    return InputError(
        f"JSON nested deeper than {limit} levels (the row nesting limit)",
        source=source,
        line=line,
        hint="a row is an array or object of values; deeper documents are refused without being parsed",
    )


def is_depth_error(message: str) -> bool:
    """Whether an orjson error message is its depth limit."""
    return "depth limit" in message or "recursion limit" in message


class DepthGuard:
    """Follows the bracket depth of JSON text fed to it in pieces; raises when it passes the limit.

    Brackets inside strings do not count. Linear in the input, and constant memory: an unfinished string
    at the end of a piece is remembered only by whether it ends inside an escape.
    """

    def __init__(self, source: str | None, limit: int = NESTING_LIMIT, depth: int = 0) -> None:
        self.source = source
        self.limit = limit
        self.depth = depth
        self._carry = b""  # the start of a string the previous piece left open: `"` or `"\`

    def feed(self, data: bytes) -> None:
        if not data:
            return
        text = self._carry + data
        self._carry = b""
        closed = _CLOSED.match(text).end()  # type: ignore[union-attr]  # it matches the empty string at least
        if closed < len(text):  # a string still open at the end of the piece: remember only how it ends
            trailing = len(text) - len(text.rstrip(b"\\"))
            self._carry = b'"\\' if trailing % 2 else b'"'
            text = text[:closed]
        text = _STRING.sub(b"", text)
        brackets = text.translate(None, _NOT_BRACKET)
        if not brackets:
            return
        if self.depth + brackets.count(b"[") + brackets.count(b"{") > self.limit:
            deepest = max(accumulate(map(_STEP.__getitem__, brackets), initial=self.depth))
            if deepest > self.limit:
                raise too_deep(self.source, limit=self.limit)
        self.depth += brackets.count(b"[") + brackets.count(b"{") - brackets.count(b"]") - brackets.count(b"}")


def check(data: bytes, source: str | None = None, limit: int = NESTING_LIMIT) -> None:
    """Refuse a whole JSON document nested deeper than the limit, in linear time, without parsing it."""
    DepthGuard(source, limit).feed(data)
