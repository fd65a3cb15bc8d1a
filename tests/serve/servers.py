"""A real `flm serve` process on 127.0.0.1, for the tests whose point is the process (real clients, sockets)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


def listening_port(process: subprocess.Popen[bytes], log: Path, deadline: float = 90) -> int:
    """The port `process` listens on, on 127.0.0.1, once it does. The server binds port 0 itself: a port picked
    here and closed before the server bound it could be taken meanwhile by another xdist worker's server or by
    any outgoing connection (they draw from the same ephemeral range)."""
    import psutil

    stop = time.monotonic() + deadline
    while True:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            ports = [c.laddr.port for c in psutil.Process(process.pid).net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr.ip == "127.0.0.1"]
        except psutil.NoSuchProcess:
            ports = []
        if ports:
            return int(ports[0])
        assert time.monotonic() < stop, f"not listening after {deadline} s:\n{log.read_text(errors='replace')}"
        time.sleep(0.05)


@contextlib.contextmanager
def running_server(
    models: dict[str, Path], log: Path, env: dict[str, str] | None = None, **settings: Any
) -> Iterator[int]:
    """Start `flmcli.serve.run` on a port of its choosing (with ServeConfig `settings`), wait until v2 says ready,
    yield the port, stop it with Ctrl-C."""
    models_repr = repr({name: str(path) for name, path in models.items()})
    code = f"from flmcli.serve import run\nrun({models_repr}, port=0, **{settings!r})\n"
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})}
        )
    try:
        port = listening_port(process, log)
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
