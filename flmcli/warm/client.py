"""The `flm predict` side of warm start: hand the request to a running helper, or say to run cold.

This runs on every `flm predict` before click or anything heavy is imported, so it uses the
standard library only and gives up at once when no helper is there.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
from typing import Any

from .. import __version__
from . import paths, protocol

HELLO_TIMEOUT = 5.0  # a helper busy loading a model answers late; a wedged one must not hold us


def warn(message: str) -> None:
    try:
        os.write(2, f"Warning: {message}\n".encode())
    except OSError:
        pass


class Refused(str):
    """Why the helper cannot be used (a one-line message)."""

    stale = False


class Stale(Refused):
    """A socket is there but nobody listens: a helper died without cleaning up."""

    stale = True


def connect(directory: str | None = None, *, same_flm: bool = True) -> tuple[socket.socket, int] | Refused | None:
    """A connection to our own helper and its pid; why it cannot be used; None when there is none.

    `same_flm`: refuse a helper running another flm version or installation (status and stop accept it).
    """
    directory = directory or paths.runtime_dir()
    try:
        st = os.lstat(directory)
    except OSError:
        return None
    problem = paths.problem(directory, st)
    if problem:
        return Refused(f"not using the warm helper: {problem}")
    if paths.too_long(directory):
        return None  # `flm warm start` refuses it: no helper listens there (each call warned it "is not running")
    path = paths.socket_path(directory)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(HELLO_TIMEOUT)
        sock.connect(path)
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            sock.close()
            return Refused(f"not using the warm helper: {path} is served by another user")
        hello = read_line(sock)
        if hello is None or hello.get("flm") != "warm":
            sock.close()
            return Refused(f"the warm helper at {path} did not answer")
        if same_flm and (hello.get("version"), hello.get("prefix")) != (__version__, sys.prefix):
            sock.close()
            return Refused(
                f"the warm helper (pid {hello.get('pid')}) runs flm {hello.get('version')} from "
                f"{hello.get('prefix')}, not this one; `flm warm stop` and start it again"
            )
        if same_flm and hello.get("code") != protocol.code_stamp():
            sock.close()
            return Refused(
                f"the warm helper (pid {hello.get('pid')}) runs older code (flm or installed packages changed"
                " since it started); `flm warm stop` and start it again"
            )
    except FileNotFoundError:
        sock.close()
        return None
    except TimeoutError:
        sock.close()
        return Refused(f"the warm helper at {path} did not answer within {HELLO_TIMEOUT:g} s")
    except OSError as exc:
        sock.close()
        reason = f"the warm helper at {path} is not running ({exc.strerror or exc}); `flm warm stop` clears it"
        return Stale(reason) if isinstance(exc, ConnectionRefusedError) else Refused(reason)
    sock.settimeout(None)
    return sock, int(hello.get("pid", 0))


def predict(argv: list[str]) -> int | None:
    """Run `flm predict` through the helper and return its exit status; None means: run it cold."""
    if os.environ.get("FLM_DASK") or any(arg == "--dask" or arg.startswith("--dask=") for arg in argv):
        return None  # a cluster run pays seconds to start its cluster anyway: run it as it always runs
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            return None  # a closed standard stream: the cold path reports it its own way
    try:
        cwd = os.getcwd()
    except OSError:
        return None
    connected = connect()
    if connected is None:
        return None
    if isinstance(connected, Refused):
        warn(f"{connected}; running cold")
        return None
    sock, helper = connected
    umask = os.umask(0)
    os.umask(umask)
    main = sys.modules.get("__main__")
    request = {
        "op": "predict",
        "argv": argv,
        "cwd": cwd,
        "env": dict(os.environ),
        "umask": umask,
        "main_package": getattr(main, "__package__", None),
    }
    data = protocol.encode(request)
    try:
        sent = socket.send_fds(sock, [data], [0, 1, 2])
        sock.sendall(data[sent:])
    except OSError as exc:
        warn(f"the warm helper (pid {helper}) did not take the request ({exc.strerror or exc}); running cold")
        return None
    return _wait(sock, helper)


def _wait(sock: socket.socket, helper: int) -> int | None:
    """Pass signals on until the helper reports how the child ended; end the same way."""

    def forward(signum: int, frame: Any) -> None:
        try:
            sock.sendall(protocol.encode({"signal": signum}))
        except OSError:
            pass

    def suspend(signum: int, frame: Any) -> None:
        forward(signal.SIGSTOP, frame)
        os.kill(os.getpid(), signal.SIGSTOP)

    for name in protocol.FORWARDED:
        signal.signal(getattr(signal, name), forward)
    signal.signal(signal.SIGTSTP, suspend)
    signal.signal(signal.SIGCONT, forward)
    try:
        answer = read_line(sock)
    except OSError:
        answer = None
    if answer is not None and "cold" in answer:
        warn(f"{answer['cold']}; running cold")
        return None
    if answer is None or not isinstance(answer.get("exit", answer.get("signal")), int):
        try:
            os.write(2, f"Error: the warm helper (pid {helper}) died before the request finished; "
                        "its output may be incomplete\n".encode())
        except OSError:
            pass
        return 1
    if "signal" in answer:
        # end the way the child ended (a shell shows 128+N, a core dump stays a core dump)
        number = answer["signal"]
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        return 128 + int(number)
    return int(answer["exit"])


def read_line(sock: socket.socket) -> dict[str, Any] | None:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > protocol.MAX_LINE:
            return None
    try:
        message = json.loads(data)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None
