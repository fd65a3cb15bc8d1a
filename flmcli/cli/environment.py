"""The process's standard streams as the commands see them (httpie's Environment): tests pass their own."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True, slots=True)
class Environment:
    stdin: BinaryIO
    stdout: BinaryIO
    stderr: BinaryIO
    stdout_isatty: bool = False
    stderr_isatty: bool = False

    @classmethod
    def from_sys(cls) -> Environment:
        """The streams of this moment (click's CliRunner swaps sys.stdout and friends while a command runs)."""
        return cls(
            stdin=sys.stdin.buffer,
            stdout=sys.stdout.buffer,
            stderr=sys.stderr.buffer,
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
        )


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False
