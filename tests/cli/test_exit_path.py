"""How an `flm` process ends (flmcli/cli/__init__.py's `_exit`): the heap is frozen, so that Python's last garbage
collections skip the object graph of the libraries and the model, and nothing else about the end changes: atexit
handlers still run, stdout is flushed, every stderr line arrives, -o leaves no temporary file, a reader that went away
still gives 141. Real processes, because how the process ends is the point; tests/plain_model.py's model spares
each the scikit-learn import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.helpers import invoke
from tests.plain_model import TRUST, process_env

ROW = [10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]
BAD = ["x", *ROW[1:]]

# `flm` as its entry point runs it, with an atexit handler of our own registered first (so it runs last) that says
# how many objects were frozen when the atexit handlers ran.
MAIN = """
import atexit, gc, os, sys
atexit.register(lambda: os.write(2, b"at exit: %d frozen\\n" % gc.get_freeze_count()))
sys.argv[0] = "flm"
from flmcli.cli import main
main()
"""


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rows") / "rows.ndjson"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in (ROW, BAD, ROW, BAD, ROW)))
    return path


def flm_process(*args: str | os.PathLike[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kw}
    return subprocess.run([sys.executable, "-c", MAIN, *map(str, args)], timeout=300, check=False,
                          env=process_env(FLM_WARM="0"), **streams)


def test_a_run_ends_with_its_heap_frozen_and_its_atexit_handlers_run(plain_flm: Path, rows: Path) -> None:
    expected = invoke("predict", plain_flm, rows, "--trust", TRUST, "--on-error", "skip")
    assert expected.returncode == 5 and expected.stdout.count(b"\n") == 3

    ran = flm_process("predict", plain_flm, rows, "--trust", TRUST, "--on-error", "skip")

    assert ran.returncode == 5
    assert ran.stdout == expected.stdout
    *lines, last = ran.stderr.decode().splitlines()
    assert lines == expected.stderr.decode().splitlines()  # both skipped rows and the closing error line
    frozen = int(last.removeprefix("at exit: ").removesuffix(" frozen"))
    assert frozen > 10_000, last  # numpy, pandas, pyarrow and flm: tens of thousands of objects


def test_every_stderr_line_arrives_when_the_reader_of_stdout_is_gone(plain_flm: Path, rows: Path) -> None:
    """The skipped rows are reported before their batch is written; the write meets the closed pipe: 141, quietly
    otherwise, and the reports are all there."""
    expected = invoke("predict", plain_flm, rows, "--trust", TRUST, "--on-error", "skip")
    reports = [line for line in expected.stderr.decode().splitlines() if line.startswith("{")]
    assert len(reports) == 2
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        ran = flm_process("predict", plain_flm, rows, "--trust", TRUST, "--on-error", "skip", stdout=write_end)
    finally:
        os.close(write_end)
    assert ran.returncode == 141
    *lines, last = ran.stderr.decode().splitlines()
    assert lines == reports
    assert last.startswith("at exit: ")


@pytest.mark.parametrize("to", ["ndjson", "csv", "parquet"])
def test_an_output_file_is_whole_and_leaves_no_temporary_file(plain_flm: Path, rows: Path, tmp_path: Path,
                                                              to: str) -> None:
    target = tmp_path / f"scored.{to}"
    expected = invoke("predict", plain_flm, rows, "--trust", TRUST, "--on-error", "skip", "-o", tmp_path / "in.out",
                      "--to", to)
    assert expected.returncode == 5

    ran = flm_process("predict", plain_flm, rows, "--trust", TRUST, "--on-error", "skip", "-o", target)

    assert ran.returncode == 5
    assert ran.stdout == b""
    assert target.read_bytes() == (tmp_path / "in.out").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.out", target.name])  # no .part left
    *lines, last = ran.stderr.decode().splitlines()
    assert lines == expected.stderr.decode().splitlines()
    assert last.startswith("at exit: ")


def test_a_failed_flush_of_stdout_at_exit_is_still_reported(plain_flm: Path, tmp_path: Path) -> None:
    """What is still buffered when the process ends is flushed by the interpreter, as before the freeze: on a full
    device the run fails with its one line, whether the bytes were written during the run or at exit."""
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    one = tmp_path / "one.ndjson"
    one.write_bytes(orjson.dumps(ROW) + b"\n")
    with open("/dev/full", "wb") as full:
        ran = flm_process("predict", plain_flm, one, "--trust", TRUST, stdout=full)
    assert ran.returncode == 1
    assert ran.stderr.decode().splitlines()[0] == "Error: cannot write: no space left on device"
