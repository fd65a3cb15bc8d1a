"""An exception raised at any point of an atomic write (SIGTERM, SIGHUP and Ctrl-C are raised wherever the main
thread happens to be) leaves the old file or the whole new one, and never the temporary part.

Signals are asynchronous, so a test that sends one to a process hits a given instruction only by chance (the
SIGTERM test in tests/cli/test_termination.py failed that way under load: the part was made, the signal landed
before the code that removes it was in force). Here the interruption is raised from a trace function at each
bytecode instruction in turn, where a signal handler would run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from flmcli.atomic import atomic_write

# The frames between the creating call and the cleanup that covers it: the module and the stdlib it calls. Not
# tempfile: interrupted there it can leave its own lock held, and the next call waits for ever (the stdlib's
# concern; the part is no longer made through it).
WATCHED = {"atomic.py", "os.py", "posixpath.py", "secrets.py"}


class Interrupted(BaseException):
    """Stands for the _Terminated or KeyboardInterrupt a signal handler raises."""


def _write_interrupted_at(target: Path, step: int) -> bool:
    """Write `target`, raising Interrupted at the `step`-th instruction; True if the write ended first."""
    count = 0

    def per_instruction(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "opcode":
            count += 1
            if count == step:
                raise Interrupted
        return per_instruction

    def per_call(frame: FrameType, event: str, arg: Any) -> Any:
        if os.path.basename(frame.f_code.co_filename) not in WATCHED:
            return None
        frame.f_trace_opcodes = True
        return per_instruction

    sys.settrace(per_call)
    try:
        with atomic_write(target) as out:
            out.write(b"new\n")
    except Interrupted:
        return False
    finally:
        sys.settrace(None)
    return True


# An interruption between the open and the `with` that would close the file leaves the descriptor to the garbage
# collector (a ResourceWarning here; the process is ending anyway): what this test is about is the files left.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("old", [None, b"old\n"], ids=["new-file", "replacing"])
def test_an_interruption_at_any_instruction_leaves_no_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           old: bytes | None) -> None:
    # fsync is not what is tested and costs milliseconds a call on a disk; the rest runs as written
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    target = tmp_path / "out.csv"
    interrupted = 0
    for step in range(1, 100_000):
        if old is not None:
            target.write_bytes(old)
        done = _write_interrupted_at(target, step)
        left = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        assert left in ({}, {"out.csv": b"new\n"}) if old is None else left in (
            {"out.csv": old}, {"out.csv": b"new\n"}), (step, left)
        for path in tmp_path.iterdir():
            path.unlink()
        if done:
            break
        interrupted += 1
    assert done and interrupted > 50  # every instruction up to the end of the write was tried
