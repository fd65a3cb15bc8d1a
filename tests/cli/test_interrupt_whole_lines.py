"""Ctrl-C during a streamed run leaves the reader of stdout whole lines: the interrupt is acted on between writes
of whole rows (flmcli/interrupts.py), not inside one, which left the last NDJSON or CSV line cut mid-value in the
pipe. Real processes and a real pipe whose reader is slower than flm, so that writes wait on it when the signal
comes; a second Ctrl-C acts at once, so a reader that never reads cannot hold flm up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.plain_model import TRUST, process_env

ROW = [10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("interrupt") / "rows.ndjson"
    path.write_bytes((orjson.dumps(ROW) + b"\n") * 300_000)  # ~27 MB out with --keep-input: far more than a pipe
    return path


def _start(plain_flm: Path, rows: Path, to: str) -> tuple[subprocess.Popen[bytes], int]:
    read, write = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "flmcli", "predict", str(plain_flm), "--trust", TRUST, str(rows), "--keep-input",
         "--to", to, "--batch-size", "20000"],
        stdout=write, stderr=subprocess.PIPE, env=process_env(FLM_WARM="0"))
    os.close(write)
    return process, read


@pytest.mark.parametrize("to, delay", [("ndjson", 0.3), ("ndjson", 0.9), ("csv", 0.6)])
def test_the_reader_gets_whole_lines(plain_flm: Path, rows: Path, to: str, delay: float) -> None:
    process, read = _start(plain_flm, rows, to)
    got = bytearray()
    first: float | None = None
    sent = False
    try:
        while True:
            if first is not None and not sent and time.monotonic() - first > delay:
                process.send_signal(signal.SIGINT)
                sent = True
            chunk = os.read(read, 8192)
            if not chunk:
                break
            first = first if first is not None else time.monotonic()
            got += chunk
            time.sleep(0.001)  # slower than flm writes: its writes wait on the pipe
        _, err = process.communicate(timeout=60)
    finally:
        os.close(read)
        process.kill()
    assert sent and process.returncode == 130, (process.returncode, err)
    assert err.decode().splitlines() == ["Interrupted"]  # no blank line before it: stderr is a pipe
    assert got.endswith(b"\n"), bytes(got[-60:])
    lines = bytes(got).splitlines()
    assert 0 < len(lines) < 300_001
    if to == "ndjson":
        assert all(orjson.loads(line)["prediction"] == 20000.0 for line in lines)
    else:
        assert all(line.count(b",") == lines[0].count(b",") for line in lines)


def test_a_second_interrupt_acts_at_once(plain_flm: Path, rows: Path) -> None:
    process, read = _start(plain_flm, rows, "ndjson")
    try:
        assert os.read(read, 1)  # writing: now nobody reads, and the pipe fills
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert process.poll() is None  # the first waits for the write the reader holds up
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        os.close(read)
        process.kill()
    assert process.returncode == 130, err
    assert b"Traceback" not in err
