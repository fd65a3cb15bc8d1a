"""The warm helper: heavy libraries imported once, one forked child per `flm predict` request.

The helper stays single-threaded (fork copies only the calling thread, so a lock held by any other
thread would stay held in the child forever) and never runs a model itself, so BLAS/OpenMP thread
pools are first started by the children, each in its own process.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import selectors
import signal
import socket
import struct
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from . import paths, protocol
from .cache import ModelCache

# What a cold `flm predict` imports for the common formats and models: paid once here, not per request.
PRELOAD = (
    "numpy", "pandas", "pyarrow", "pyarrow.parquet", "pyarrow.ipc", "pyarrow.compute", "pyarrow.csv",
    "sklearn", "sklearn.pipeline", "sklearn.compose", "sklearn.preprocessing", "sklearn.impute",
    "sklearn.linear_model", "sklearn.ensemble", "sklearn.tree", "sklearn.neighbors", "sklearn.svm",
    "orjson", "ijson", "zstandard", "threadpoolctl", "rich.console", "rich.progress",
    "pyarrow.pandas_compat", "pyarrow.vendored.version", "narwhals", "narwhals.stable.v2",
    "narwhals._pandas_like.dataframe", "narwhals._pandas_like.namespace", "narwhals._interchange.dataframe",
    "ctypes",
    "flmcli.cli", "flmcli.cli.predict", "flmcli.job", "flmcli.predictor", "flmcli.flm", "flmcli.formats",
    "flmcli.warm.child",
)


class InChild(BaseException):
    """Not an error: carries a forked child out of the server loop, to run its request."""

    def __init__(self, request: dict[str, Any], fds: list[int], report: socket.socket, cache: ModelCache) -> None:
        self.request = request
        self.fds = fds
        self.report = report
        self.cache = cache


@dataclass
class Conn:
    sock: socket.socket
    buffer: bytes = b""
    fds: list[int] = field(default_factory=list)
    pid: int | None = None
    pidfd: int | None = None
    started: bool = False
    forked_at: float = 0.0
    fork_seconds: float = 0.0


class Helper:
    def __init__(self, directory: str, idle: float, cache_limit: int) -> None:
        self.directory = directory
        self.idle = idle
        self.cache = ModelCache(cache_limit)
        self.pid = os.getpid()
        self.code = protocol.code_stamp()  # before the imports: a file changed meanwhile makes clients go cold
        self.started = time.time()
        self.last_active = time.monotonic()
        self.requests = 0
        # (seconds the fork took in the helper, seconds from fork to the child's exit) of recent requests
        self.timings: deque[tuple[float, float]] = deque(maxlen=200)
        self.stopping = False
        self.conns: dict[int, Conn] = {}
        self.selector = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.inode: int | None = None
        self.lock_fd: int | None = None
        # children tell the helper which models they loaded cold (to cache) or found cached (to count)
        self.reports, self.child_reports = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.reports.setblocking(False)
        self.child_reports.setblocking(False)

    # -- lifetime ----------------------------------------------------------------------------
    def listen(self) -> None:
        path = paths.socket_path(self.directory)
        temporary = paths.temporary_socket_path(self.directory, os.getpid())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(temporary)
        listener.listen(64)
        os.replace(temporary, path)  # clients never see a bound socket that does not listen yet
        self.inode = os.stat(path).st_ino
        listener.setblocking(False)
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.reports, selectors.EVENT_READ, "report")

    def close_listener(self) -> None:
        if self.listener is None:
            return
        self.selector.unregister(self.listener)
        self.listener.close()
        self.listener = None
        path = paths.socket_path(self.directory)
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == self.inode:  # a newer helper's socket is not ours to remove
                os.unlink(path)

    def serve(self) -> None:
        """Run until stopped or idle. In a forked child this raises InChild instead of returning."""
        while True:
            busy = any(conn.pid is not None for conn in self.conns.values())
            if self.stopping and not busy:
                return
            timeout = None
            if self.idle > 0 and not busy and not self.conns:
                timeout = self.last_active + self.idle - time.monotonic()
                if timeout <= 0:
                    return
            for key, _ in self.selector.select(timeout):
                what = key.data
                if what == "accept":
                    self._accept()
                elif what == "report":
                    self._report()
                elif isinstance(what, tuple) and what[0] == "child":
                    self._reap(what[1])
                else:
                    self._readable(key.fd)

    # -- connections -------------------------------------------------------------------------
    def _accept(self) -> bool:
        """Greet one waiting connection; False when none was waiting."""
        assert self.listener is not None
        try:
            sock, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return False
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _, uid, _ = struct.unpack("3i", creds)
        if uid != os.getuid():
            sock.close()
            return True
        self.last_active = time.monotonic()
        conn = Conn(sock)
        self.conns[sock.fileno()] = conn
        hello = {"flm": "warm", "pid": self.pid, "version": __version__, "prefix": sys.prefix, "code": self.code}
        self._send(conn, hello)
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, "conn")
        return True

    def _greet_waiting(self) -> None:
        """Greet every connection already waiting before work that can take seconds under load (a model to load,
        modules to import): a client waits HELLO_TIMEOUT for the greeting, then runs cold; its request waits."""
        while self.listener is not None and self._accept():
            pass

    def _readable(self, fd: int) -> None:
        conn = self.conns[fd]
        try:
            data, fds, _, _ = socket.recv_fds(conn.sock, 1 << 16, 3)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, fds = b"", []
        conn.fds.extend(fds)
        if not data:
            self._client_gone(conn)
            return
        conn.buffer += data
        if len(conn.buffer) > protocol.MAX_LINE:
            self._close(conn)
            return
        while b"\n" in conn.buffer and fd in self.conns:
            line, conn.buffer = conn.buffer.split(b"\n", 1)
            try:
                message = protocol.decode(line)
            except ValueError:
                self._close(conn)
                return
            self._handle(conn, message)

    def _handle(self, conn: Conn, message: dict[str, Any]) -> None:
        if conn.started:
            number = message.get("signal")
            if isinstance(number, int) and conn.pid is not None and _forwardable(number):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(conn.pid, number)  # not reaped yet, so the pid cannot be someone else's
            return
        conn.started = True
        op = message.get("op")
        if op == "status":
            self._send(conn, self.status())
            self._close(conn)
        elif op == "stop":
            self._send(conn, {"stopping": self.pid})
            self._close(conn)
            self.stopping = True
            self.close_listener()
        elif op == "predict" and len(conn.fds) == 3 and self._valid(message):
            self._fork(conn, message)
        else:
            self._send(conn, {"cold": "the helper did not understand the request"})
            self._close(conn)

    @staticmethod
    def _valid(message: dict[str, Any]) -> bool:
        return (
            isinstance(message.get("argv"), list) and all(isinstance(a, str) for a in message["argv"])
            and isinstance(message.get("cwd"), str)
            and isinstance(message.get("env"), dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in message["env"].items())
            and isinstance(message.get("umask"), int)
        )

    def _fork(self, conn: Conn, request: dict[str, Any]) -> None:
        fds, conn.fds = conn.fds, []
        conn.forked_at = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                _die_with_parent(self.pid)
                self._forget_in_child()
            except BaseException:  # noqa: BLE001 - a child that cannot detach must not run the helper's loop
                os._exit(70)
            raise InChild(request, fds, self.child_reports, self.cache)
        conn.fork_seconds = time.perf_counter() - conn.forked_at
        for fd in fds:
            os.close(fd)  # the child has them; a copy here would keep the caller's pipes open
        self.requests += 1
        conn.pid = pid
        conn.pidfd = os.pidfd_open(pid)
        self.selector.register(conn.pidfd, selectors.EVENT_READ, ("child", conn.sock.fileno()))

    def _reap(self, fd: int) -> None:
        conn = self.conns[fd]
        assert conn.pid is not None and conn.pidfd is not None
        _, status = os.waitpid(conn.pid, 0)
        self.timings.append((conn.fork_seconds, time.perf_counter() - conn.forked_at))
        self.selector.unregister(conn.pidfd)
        os.close(conn.pidfd)
        conn.pid = conn.pidfd = None
        if os.WIFSIGNALED(status):
            self._send(conn, {"signal": os.WTERMSIG(status)})
        else:
            self._send(conn, {"exit": os.waitstatus_to_exitcode(status)})
        self._close(conn)

    def _client_gone(self, conn: Conn) -> None:
        if conn.pid is not None:
            # The caller died without passing a signal on (SIGKILL): its request dies with it, as it would cold.
            with contextlib.suppress(ProcessLookupError):
                os.kill(conn.pid, signal.SIGKILL)
            return  # reaped, then closed, by _reap
        self._close(conn)

    def _close(self, conn: Conn) -> None:
        fd = conn.sock.fileno()
        if self.conns.pop(fd, None) is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn.sock)
        for extra in conn.fds:
            os.close(extra)
        conn.sock.close()
        self.last_active = time.monotonic()

    @staticmethod
    def _send(conn: Conn, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            conn.sock.sendall(protocol.encode(message))

    def _report(self) -> None:
        while True:
            try:
                data = self.reports.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            try:
                message = protocol.decode(data)
                if message.get("hit"):
                    path, realpath, size, mtime, digest, trust, trust_all = message["hit"]
                    self.cache.hit((path, realpath, size, mtime, digest, tuple(trust), trust_all))
                elif message.get("loaded"):
                    path, realpath, trust, trust_all = message["loaded"]
                    self._greet_waiting()
                    self.cache.add(str(path), str(realpath), tuple(map(str, trust)), bool(trust_all))
                elif message.get("imported"):
                    _import_quietly((name for name in message["imported"] if isinstance(name, str)),
                                    between=self._greet_waiting)
            except (ValueError, TypeError, KeyError):
                continue  # a child cannot take the helper down with a bad report

    def status(self) -> dict[str, Any]:
        from .cache import resident

        return {
            "pid": self.pid,
            "socket": paths.socket_path(self.directory),
            "uptime": round(time.time() - self.started, 1),
            "idle_exit": self.idle,
            "requests": self.requests,
            "running": sum(conn.pid is not None for conn in self.conns.values()),
            "memory": resident(),
            "cache_limit": self.cache.limit,
            "models": self.cache.describe(),
            "fork_ms": _median([fork for fork, _ in self.timings]),
            "child_ms": _median([life for _, life in self.timings]),
        }

    def _forget_in_child(self) -> None:
        """Close, in a forked child, everything that belongs to the helper and other requests."""
        signal.set_wakeup_fd(-1)
        for conn in self.conns.values():
            conn.sock.close()
            for fd in conn.fds:
                os.close(fd)
            if conn.pidfd is not None:
                os.close(conn.pidfd)
        if self.listener is not None:
            self.listener.close()
        self.reports.close()
        self.selector.close()
        if self.lock_fd is not None:
            os.close(self.lock_fd)


def _median(values: list[float]) -> float | None:
    import statistics

    return round(statistics.median(values) * 1000, 2) if values else None


def _import_quietly(names: Iterable[str], between: Callable[[], None] = lambda: None) -> None:
    """Import here what children had to import themselves, so the next child finds it loaded; `between` runs
    before each import."""
    import importlib

    for name in names:
        if name in sys.modules or name.startswith("__main__"):
            continue
        between()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                importlib.import_module(name)
        except BaseException:  # noqa: BLE001, S112 - optional: the child that needed it has it
            continue


def _warm_caches() -> None:
    """Caches a first prediction fills, filled once here (not per child); missing ones are skipped."""
    try:
        from narwhals.plugins import _discover_entrypoints

        _discover_entrypoints()
    except Exception:  # noqa: BLE001, S110 - only a speed-up
        pass


def _forwardable(number: int) -> bool:
    names = (*protocol.FORWARDED, "SIGSTOP", "SIGCONT")
    return any(getattr(signal, name, None) == number for name in names)


@functools.cache
def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent(parent: int) -> None:
    """A request must not outlive a helper that was killed: nobody would collect its exit status."""
    pr_set_pdeathsig = 1
    _libc().prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(70)


def parse_duration(text: str) -> float:
    """'30m', '2h', '90s', '45' (seconds), '0' (never)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    scale = units.get(text[-1:], None)
    number = text[:-1] if scale is not None else text
    value = float(number) * (scale or 1)
    if not 0 <= value < float("inf"):
        raise ValueError(text)
    return value


def main(argv: list[str] | None = None) -> None:
    """python -c 'from flmcli.warm.server import main; main()' DIR IDLE_SECONDS CACHE_BYTES READY_FD"""
    directory, idle, cache_limit, ready_fd = (argv or sys.argv[1:])[:4]
    ready = os.fdopen(int(ready_fd), "w")
    helper = Helper(directory, float(idle), int(cache_limit))
    try:
        request = _run(helper, ready)
    except InChild as child:
        request = child
    if request is None:
        return
    from .child import run

    run(request.request, request.fds, request.report, request.cache)


def _run(helper: Helper, ready: Any) -> InChild | None:
    lock_fd = os.open(os.path.join(helper.directory, "helper.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        ready.write("error: another warm helper is already running\n")
        ready.close()
        return None
    helper.lock_fd = lock_fd
    try:
        import importlib

        for name in PRELOAD:
            importlib.import_module(name)
        import pkgutil

        import flmcli.formats as formats_package

        for module in pkgutil.iter_modules(formats_package.__path__, "flmcli.formats."):
            importlib.import_module(module.name)
        _warm_caches()
        _libc()

        def stop(signum: int, frame: Any) -> None:
            raise SystemExit(0)

        for name in ("SIGTERM", "SIGHUP", "SIGINT"):
            signal.signal(getattr(signal, name), stop)
        helper.listen()
        ready.write(f"ready {os.getpid()}\n")
        ready.close()
        helper.serve()
        return None
    finally:
        if os.getpid() == helper.pid:
            helper.close_listener()
