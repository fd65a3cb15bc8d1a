"""`flm --help` (and each subcommand's --help) must start without the heavy libraries: pipes pay for startup."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "pandas", "sklearn", "scipy", "pyarrow", "starlette", "uvicorn", "rich")

PROBE = """
import sys
sys.argv = ["flm", *{args!r}]
from flmcli.cli import cli
try:
    cli.main(prog_name="flm")
except SystemExit:
    pass
print("LOADED:" + ",".join(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["predict", "--help"], ["inspect", "--help"], ["pack", "--help"], ["serve", "--help"]],
    ids=lambda a: " ".join(a),
)
def test_startup_imports_no_heavy_module(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True, text=True, timeout=60
    )
    assert "Usage:" in result.stdout or "flm" in result.stdout
    loaded = [line for line in result.stderr.splitlines() if line.startswith("LOADED:")]
    assert loaded == ["LOADED:"], result.stderr
