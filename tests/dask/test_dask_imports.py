"""Without --dask, nothing imports dask: `flm predict --help` and a local run stay as fast as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_imports import PROBE

ROOT = Path(__file__).resolve().parents[2]

DASK = ("dask", "distributed", "fsspec")


@pytest.mark.parametrize("args", [["predict", "--help"],
                                  ["predict", str(ROOT / "samples" / "churn.flm"), str(ROOT / "data" / "data.parquet"),
                                   "--to", "ndjson"]], ids=["help", "local run"])
def test_no_dask_without_the_option(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=DASK)], check=False, capture_output=True, text=True,
                            timeout=120)
    assert "prediction" in result.stdout or "--dask" in result.stdout, result.stderr
    loaded = [line for line in result.stderr.splitlines() if line.startswith("LOADED:")]
    assert loaded == ["LOADED:"], result.stderr
