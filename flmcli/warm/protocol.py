"""What the client and the helper say to each other: one JSON object per line. Stdlib only.

    helper -> client  {"flm": "warm", "pid": N}              on accept, before anything is sent
    client -> helper  {"op": "predict", "argv": [...], ...}  with stdin, stdout, stderr as SCM_RIGHTS
    client -> helper  {"signal": N}                          any number of times while the child runs
    helper -> client  {"exit": N} | {"signal": N}            how the child ended; then the helper closes
    client -> helper  {"op": "status"} | {"op": "stop"}      answered with one object, then closed
"""

from __future__ import annotations

import json
from typing import Any

# Signals a client passes on to the child running its request (SIGTSTP/SIGCONT are handled apart).
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM")
MAX_LINE = 8 << 20  # a request carries the environment: generous, but bounded


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004 - callers handle ValueError for any bad line
    return message
