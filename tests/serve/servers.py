"""A real `flm serve` process on 127.0.0.1, for the tests whose point is the process (real clients, sockets)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(
    models: dict[str, Path], log: Path, env: dict[str, str] | None = None, **settings: Any
) -> Iterator[int]:
    """Start `flmcli.serve.run` on a free port (with ServeConfig `settings`), wait until v2 says ready, yield the
    port, stop it with Ctrl-C."""
    port = free_port()
    models_repr = repr({name: str(path) for name, path in models.items()})
    code = f"from flmcli.serve import run\nrun({models_repr}, port={port}, **{settings!r})\n"
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})}
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
