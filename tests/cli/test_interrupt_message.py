"""Ctrl-C's message on stderr is the line "Interrupted", with no blank line before it where stderr is a file or a
pipe (click wrote one whatever stderr was: a line of nothing in every log); on a terminal the blank line stays, as
it ends the line the terminal's "^C" echo began. Real processes, interrupted while they wait on a live pipe."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import CORPUS
from tests.plain_model import process_env

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"


def _interrupted(stderr: int) -> tuple[int, bytes]:
    """flm scoring a live pipe: one row answered, then SIGINT while it waits for the next. Its exit status, and its
    stderr when `stderr` is subprocess.PIPE."""
    with subprocess.Popen([sys.executable, "-m", "flmcli", "predict", str(IRIS)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=stderr, env=process_env(FLM_WARM="0")) as process:
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(b"[5.1, 3.5, 1.4, 0.2]\n")
            process.stdin.flush()
            assert process.stdout.readline() == b'{"prediction":0}\n'
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            return process.returncode, process.stderr.read() if process.stderr is not None else b""
        finally:
            process.kill()


def test_a_pipe_gets_the_line_alone() -> None:
    assert _interrupted(subprocess.PIPE) == (130, b"Interrupted\n")


def test_a_terminal_gets_a_blank_line_before_it() -> None:
    main, side = pty.openpty()
    try:
        code, _ = _interrupted(side)
        os.close(side)
        side = -1
        got = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = os.read(main, 1024)
            except OSError:  # EIO: the pty's other end is closed and drained
                break
            if not chunk:
                break
            got += chunk
        assert code == 130
        assert got.replace(b"\r\n", b"\n") == b"\nInterrupted\n"
    finally:
        os.close(main)
        if side >= 0:
            os.close(side)


def test_a_file_gets_the_line_alone(tmp_path: Path) -> None:
    log = tmp_path / "err.log"
    with log.open("wb") as err:
        assert _interrupted(err.fileno())[0] == 130
    assert log.read_bytes() == b"Interrupted\n"
