"""Parquet on stdin from a writer slower than the warm child: every row is scored, as cold.

A warm child starts reading stdin within milliseconds, usually before the writer has written it all; a cold
process, ~1 s of imports later, finds it all there. The writer here pauses where it matters (before the first
byte, after the magic, before the footer) so that the warm child meets each of those orders every run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.plain_model import TRUST

from .conftest import Helper, env_for, shell

pytestmark = pytest.mark.xdist_group("warm-helper")

# bash: what writes rows.parquet into the pipe, and where it pauses
WRITERS = {
    "nothing-yet": "sleep 0.5; cat rows.parquet",
    "magic-then-rest": "head -c 4 rows.parquet; sleep 0.5; tail -c +5 rows.parquet",
    "all-but-footer": "head -c -8 rows.parquet; sleep 0.5; tail -c 8 rows.parquet",
}
PREDICT = f"TMPDIR=spool $FLM predict plain.flm --trust {TRUST}"


@pytest.fixture(scope="module")
def cold(inputs: Path, plain_flm: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The cold run's output, from the same rows in a file."""
    folder = _folder(tmp_path_factory.mktemp("slow-writer-cold"), inputs, plain_flm)
    result = shell(f"{PREDICT} -o cold.parquet < rows.parquet", env_for(None), cwd=folder)
    assert (result.returncode, result.stderr) == (0, b"")
    return (folder / "cold.parquet").read_bytes()


def _folder(folder: Path, inputs: Path, plain_flm: Path) -> Path:
    shutil.copy(inputs / "parquet-rows.parquet", folder / "rows.parquet")
    shutil.copy(plain_flm, folder / "plain.flm")
    (folder / "spool").mkdir()
    return folder


@pytest.mark.parametrize("writer", list(WRITERS))
def test_parquet_from_a_slow_writer_is_scored_whole(helper: Helper, inputs: Path, plain_flm: Path, tmp_path: Path,
                                                    cold: bytes, writer: str) -> None:
    _folder(tmp_path, inputs, plain_flm)
    helper.wait_until_free()
    before = helper.status()["requests"]
    warm = shell(f"({WRITERS[writer]}) | {PREDICT} -o warm.parquet", helper.env, cwd=tmp_path)
    assert (warm.returncode, warm.stderr) == (0, b"")  # no "no rows in <stdin>", no "running cold"
    assert helper.status()["requests"] == before + 1
    assert (tmp_path / "warm.parquet").read_bytes() == cold
