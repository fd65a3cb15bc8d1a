"""Every command has a man page, built from the click commands, and a stale page fails the build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_man_pages_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "man" / "build.py"), "--check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_every_command_has_a_page() -> None:
    from flmcli.cli import COMMANDS

    pages = {p.name for p in (ROOT / "man").glob("*.1")}
    assert pages == {"flm.1"} | {f"flm-{name}.1" for name in COMMANDS}
