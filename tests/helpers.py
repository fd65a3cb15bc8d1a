"""What the CLI tests share: where things are, and running `flm` as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "flm-corpus"
CHURN_DATA = ROOT / "data"
CHURN = ROOT / "samples" / "churn.flm"
DATA = ROOT / "data" / "data.parquet"


def flm(*args: str | os.PathLike[str], input: bytes | None = None, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    """Run `flm` in a fresh interpreter, with real stdin/stdout/stderr pipes."""
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
