"""One request, in a child forked from the helper: become the caller's `flm predict`, then run it.

The child takes the caller's stdin/stdout/stderr, working directory, umask, environment, argv and
program name, rebuilds the standard streams the way Python builds them at start-up, and calls the
same `flmcli.cli.main` a cold `flm` calls. It exits through the normal interpreter shutdown, so
flushing, exit codes and messages at exit are those of a cold run.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import sys
from typing import Any

from . import protocol
from .cache import ModelCache


def run(request: dict[str, Any], fds: list[int], report: socket.socket, cache: ModelCache) -> None:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    _default_signals()
    _become_caller(request)
    _fresh_stdio()
    _serve_models_from(cache, report)
    known = set(sys.modules)
    from ..cli import main

    try:
        main()
        code: Any = 0
    except SystemExit as done:
        code = done.code
    _tell(report, {"imported": sorted(set(sys.modules) - known)[:5000]})
    _exit(code)


def _exit(code: Any) -> None:
    """End as the interpreter would, without its teardown.

    Tearing down a forked interpreter writes to nearly every page it shares with the helper
    (reference counts, garbage collection): ~1.5 s of copy-on-write faults for a few bytes of output.
    """
    import atexit

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except Exception as error:  # noqa: BLE001 - reported the way Python reports it at exit
        import traceback

        sys.stderr.write(f"Exception ignored in: {sys.stdout!r}\n")
        sys.stderr.write("".join(traceback.format_exception_only(type(error), error)))
        status = 120
    try:
        sys.stderr.flush()
    except Exception:  # noqa: BLE001, S110 - nowhere left to report it
        pass
    os._exit(status & 0xFF)


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for name in ("SIGTERM", "SIGHUP", "SIGCHLD", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGTSTP", "SIGCONT"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # what Python sets at start-up: EPIPE, not death


def _become_caller(request: dict[str, Any]) -> None:
    import tempfile

    helper_env = dict(os.environ)
    try:
        os.chdir(request["cwd"])
    except OSError as exc:
        os.write(2, f"Error: cannot enter {request['cwd']}: {exc.strerror}\n".encode())
        os._exit(1)
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # TMPDIR is the caller's
    sys.argv = list(request["argv"])
    # click names the program from argv[0] and how __main__ was run (`flm` or `python -m flmcli`)
    sys.modules["__main__"].__package__ = request.get("main_package")
    _thread_limits(helper_env)


def _thread_limits(helper_env: dict[str, str]) -> None:
    """BLAS/OpenMP read their thread counts when loaded (in the helper): apply the caller's if they differ."""
    wanted = {"OMP_NUM_THREADS": "openmp", "OPENBLAS_NUM_THREADS": "blas", "MKL_NUM_THREADS": "blas"}
    changed = {api: os.environ[var] for var, api in wanted.items() if os.environ.get(var) != helper_env.get(var)}
    limits = {api: int(value.split(",")[0]) for api, value in changed.items() if value.split(",")[0].isdigit()}
    if limits:
        import importlib

        importlib.import_module("threadpoolctl").threadpool_limits(limits=limits)


def _fresh_stdio() -> None:
    """New stream objects on fds 0-2, as Python makes them at start-up (the helper's were /dev/null)."""
    encoding, errors = sys.stdout.encoding, str(sys.stdout.errors)
    streams = {
        "stdin": _stream(0, "r", encoding, errors, line_buffering=False, write_through=False),
        "stdout": _stream(1, "w", encoding, errors, line_buffering=os.isatty(1), write_through=False),
        "stderr": _stream(2, "w", encoding, "backslashreplace", line_buffering=os.isatty(2), write_through=True),
    }
    for name, stream in streams.items():
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _stream(
    fd: int, mode: str, encoding: str, errors: str, *, line_buffering: bool, write_through: bool
) -> io.TextIOWrapper:
    buffered: Any = open(fd, mode + "b", closefd=False)  # noqa: SIM115 - lives as long as the process
    buffered.raw.name = {0: "<stdin>", 1: "<stdout>", 2: "<stderr>"}[fd]
    text = io.TextIOWrapper(
        buffered, encoding=encoding, errors=errors, newline="\n", line_buffering=line_buffering,
        write_through=write_through,
    )
    setattr(text, "mode", mode)  # noqa: B010 - a read-only attribute to type checkers, as Python sets it
    return text


def _serve_models_from(cache: ModelCache, report: socket.socket) -> None:
    """`flmcli.flm.load` in this child: the helper's copy when it is the same file with the same options."""
    import warnings

    from .. import flm

    cold_load = flm.load

    def load(source: Any, *, trust: Any = (), trust_all: bool = False, max_size: int | None = None) -> Any:
        if max_size is not None or not isinstance(source, str | os.PathLike):
            return cold_load(source, trust=trust, trust_all=trust_all, max_size=max_size)
        path, options = os.fspath(source), tuple(trust)
        found = cache.lookup(path, options, bool(trust_all))
        if found is not None:
            key, entry = found
            _tell(report, {"hit": list(key)})
            for message, category in entry.warnings:
                warnings.warn(message, category, stacklevel=2)
            return entry.model
        model = cold_load(source, trust=trust, trust_all=trust_all, max_size=max_size)
        _tell(report, {"loaded": [path, os.path.realpath(path), list(options), bool(trust_all)]})
        return model

    setattr(flm, "load", load)  # noqa: B010


def _tell(report: socket.socket, message: dict[str, Any]) -> None:
    try:
        report.send(protocol.encode(message))
    except OSError:
        pass  # the cache is an optimisation; a full queue only costs the next request a cold load
