"""What the tests share: where things are, and running `flm` in-process (CliRunner) or as a real process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "flm-corpus"
CHURN_DATA = ROOT / "data"
CHURN = ROOT / "samples" / "churn.flm"
DATA = ROOT / "data" / "data.parquet"


@dataclass
class Ran:
    """What a command left behind, shaped like subprocess.CompletedProcess."""

    returncode: int
    stdout: bytes
    stderr: bytes


def invoke(*args: str | os.PathLike[str], input: bytes | None = None) -> Ran:
    """Run `flm ARGS` in this process through click's CliRunner: the same group, error funnel and exit codes as the
    real command, without paying an interpreter and the scikit-learn import per test.

    Stdin is a buffered reader, as a real pipe is, so format detection can peek at it. The command's warnings are
    shown the way its process shows them (one "Warning:" line on stderr), not raised as pytest's filter would.
    """
    from click.testing import CliRunner

    from flmcli.cli import cli

    stdin = io.BufferedReader(io.BytesIO(input or b""))  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("default", UserWarning)
        result = CliRunner().invoke(cli, [os.fspath(a) for a in args], input=stdin, prog_name="flm",
                                    catch_exceptions=False)
    return Ran(result.exit_code, result.stdout_bytes, result.stderr_bytes)


def invoke_through_a_pipe(*args: str | os.PathLike[str], input: bytes) -> Ran:
    """`invoke`, with stdin the read end of a real OS pipe that a thread writes `input` into and then closes:
    what `printf ... | flm ...` gives the command (a FIFO: no seeking, no size, reads that return what has come),
    without starting an interpreter."""
    import threading

    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with open(write_fd, "wb") as end:
            end.write(input)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    with open(read_fd, "rb") as stdin:
        from click.testing import CliRunner

        from flmcli.cli import cli

        with warnings.catch_warnings():
            warnings.simplefilter("default", UserWarning)
            result = CliRunner().invoke(cli, [os.fspath(a) for a in args], input=stdin, prog_name="flm",
                                        catch_exceptions=False)
    writer.join(timeout=60)
    return Ran(result.exit_code, result.stdout_bytes, result.stderr_bytes)


def flm(*args: str | os.PathLike[str], input: bytes | None = None, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    """Run `flm` in a fresh interpreter, with real stdin/stdout/stderr pipes: only where the process is the point."""
    return subprocess.run(
        [sys.executable, "-m", "flmcli", *map(str, args)],
        input=input,
        capture_output=True,
        timeout=timeout,
        **kw,
    )


@cache
def manifest() -> dict[str, Any]:
    return {entry["file"]: entry for entry in json.loads((CORPUS / "manifest.json").read_text())["files"]}
