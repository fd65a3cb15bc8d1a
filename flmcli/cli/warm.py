"""`flm warm start|status|stop`: the per-user helper that makes `flm predict` start warm."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import subprocess
import sys
import time
from typing import Any

import click

from ..errors import FlmError
from ..warm import client, paths, protocol

START_TIMEOUT = 180.0  # importing the libraries on a loaded machine


@click.group()
def warm() -> None:
    """Keep the heavy libraries loaded, so `flm predict` answers in a tenth of a second.

    \b
      flm warm start          # returns when the helper is ready
      flm predict model.flm rows.ndjson    # same command, same bytes, served warm
      flm warm status         # exit 0 if running, 1 if not
      flm warm stop
      FLM_WARM=0 flm predict ...           # never use the helper

    The helper is yours alone: its socket lives in a 0700 directory ($FLM_WARM_DIR, else
    $XDG_RUNTIME_DIR/flm, else flm-UID under $TMPDIR or /tmp), and it serves only your user id.
    Each request runs in a child forked from it, in your working directory, with your
    environment, stdin, stdout and stderr; models stay loaded between calls and are reloaded
    when the file changes.
    """


@warm.command()
@click.option("--idle", default="30m", show_default=True, metavar="TIME",
              help="Exit after this long without a request: 90s, 30m, 2h; 0 never.")
@click.option("--cache-mb", default=1024, show_default=True, type=click.IntRange(0),
              help="Memory the helper may keep loaded models in.")
def start(idle: str, cache_mb: int) -> None:
    """Start the helper (if it is not running) and wait until it is ready."""
    from ..warm.server import parse_duration

    try:
        idle_seconds = parse_duration(idle)
    except ValueError:
        raise click.BadParameter(f"{idle!r} is not a duration like 90s, 30m or 2h", param_hint="--idle") from None
    directory = paths.runtime_dir()
    problem = paths.too_long(directory)
    if problem:  # the helper would fail to bind, leaving only a traceback in its log
        raise FlmError(problem, hint="point FLM_WARM_DIR at a shorter directory")
    problem = paths.ensure_private(directory)
    if problem:
        raise FlmError(problem, hint="remove it, or point FLM_WARM_DIR at a directory of your own")
    connected = client.connect(directory, same_flm=False)
    if isinstance(connected, tuple):
        connected[0].close()
        click.echo(f"flm warm: already running (pid {connected[1]})", err=True)
        return
    read_end, write_end = os.pipe()
    log = open(os.path.join(directory, paths.LOG_NAME), "ab")  # noqa: SIM115 - handed to the helper
    try:
        subprocess.Popen(
            [sys.executable, "-c", "from flmcli.warm.server import main; main()",
             directory, repr(idle_seconds), str(cache_mb << 20), str(write_end)],
            pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
            start_new_session=True, cwd="/",
        )
    finally:
        os.close(write_end)
        log.close()
    answer = _read_all(read_end, START_TIMEOUT)
    if answer.startswith("ready "):
        click.echo(f"flm warm: ready (pid {answer.split()[1]}, {paths.socket_path(directory)})", err=True)
        return
    if answer.startswith("error: "):
        raise FlmError(answer[len("error: "):])
    raise FlmError(f"the warm helper did not start; see {os.path.join(directory, paths.LOG_NAME)}")


@warm.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status(as_json: bool) -> None:
    """Whether the helper runs, its pid, cached models and memory. Exit 0 if running, 1 if not."""
    answer = _ask("status")
    if answer is None:
        click.echo('{"running": false}' if as_json else "not running")
        sys.exit(1)
    if as_json:
        import json

        click.echo(json.dumps({"running": True, **answer}))
        return
    click.echo(f"running  pid {answer['pid']}  up {answer['uptime']:.0f}s  requests {answer['requests']}"
               f" ({answer['running']} running)  memory {answer['memory'] / 2**20:.0f} MiB")
    click.echo(f"socket   {answer['socket']}")
    idle = answer["idle_exit"]
    click.echo(f"idle     exits after {idle:g}s without a request" if idle else "idle     never exits by itself")
    models = answer["models"]
    cached = sum(model["bytes"] for model in models)
    click.echo(f"models   {len(models)} cached, {cached / 2**20:.1f} of {answer['cache_limit'] / 2**20:.0f} MiB")
    for model in models:
        size = model["bytes"] / 2**20
        click.echo(f"  {model['path']}  {size:.1f} MiB  {model['hits']} hits  sha256 {model['sha256']}")


@warm.command()
def stop() -> None:
    """Stop the helper; requests already running finish first."""
    answer = _ask("stop")
    if answer is None:
        stale = _remove_stale_socket()
        click.echo("flm warm: not running" + (" (removed a stale socket)" if stale else ""), err=True)
        return
    pid = int(answer["stopping"])
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    click.echo(f"flm warm: stopped (pid {pid})", err=True)


def _ask(op: str) -> dict[str, Any] | None:
    connected = client.connect(same_flm=False)
    if isinstance(connected, client.Stale):
        return None
    if isinstance(connected, client.Refused):
        raise FlmError(str(connected))
    if connected is None:
        return None
    sock, _ = connected
    with sock:
        sock.sendall(protocol.encode({"op": op}))
        return client.read_line(sock)


def _remove_stale_socket() -> bool:
    directory = paths.runtime_dir()
    path = paths.socket_path(directory)
    if not os.path.exists(path) or paths.problem(directory, os.lstat(directory)):
        return False
    lock = os.open(os.path.join(directory, "helper.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by a live helper for its lifetime
    except BlockingIOError:
        return False
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return True
    finally:
        os.close(lock)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie does not): also what the warm tests wait on."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _read_all(fd: int, timeout: float) -> str:
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    return data.decode(errors="replace").strip()
