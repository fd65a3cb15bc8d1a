"""What the client and the helper say to each other: one JSON object per line. Stdlib only.

    helper -> client  {"flm": "warm", "pid": N}              on accept, before anything is sent
    client -> helper  {"op": "predict", "argv": [...], ...}  with stdin, stdout, stderr as SCM_RIGHTS
    client -> helper  {"signal": N}                          any number of times while the child runs
    helper -> client  {"exit": N} | {"signal": N}            how the child ended; then the helper closes
    client -> helper  {"op": "status"} | {"op": "stop"}      answered with one object, then closed
"""

from __future__ import annotations

import json
import os
import sys
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


def code_stamp() -> str:
    """Changes when flm's own files or the installed packages change: a helper started before serves old code.

    The latest mtime of flmcli's .py files and of the site-packages directory (pip adds and removes
    dist-info folders there on every install, upgrade or removal). About sixty stat calls.
    """
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    latest = 0
    for folder, _, files in os.walk(package):
        for name in files:
            if name.endswith(".py"):
                try:
                    latest = max(latest, os.stat(os.path.join(folder, name)).st_mtime_ns)
                except OSError:
                    continue
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    try:
        installed = os.stat(os.path.join(sys.prefix, "lib", version, "site-packages")).st_mtime_ns
    except OSError:
        installed = 0
    return f"{latest}:{installed}"
