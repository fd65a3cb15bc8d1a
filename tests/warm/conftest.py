"""A private warm helper for the warm tests: its own runtime directory, stopped (or killed) at the end."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flmcli.cli.warm import alive

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "samples" / "churn.flm"
CORPUS = ROOT / "tests" / "data" / "flm-corpus"
DATA = ROOT / "data" / "data.parquet"
FLM = [sys.executable, "-m", "flmcli"]


def env_for(directory: str | None, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLM_")}
    # the cold processes and the helper may import tests.plain_model (a model trusted by name)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    if directory is None:
        env["FLM_WARM"] = "0"
    else:
        env["FLM_WARM_DIR"] = directory
    env.update(extra)
    return env


@dataclass
class Helper:
    directory: str

    @property
    def env(self) -> dict[str, str]:
        return env_for(self.directory)

    def pid(self) -> int | None:
        result = subprocess.run(
            check=False, args=[*FLM, "warm", "status", "--json"], env=self.env, capture_output=True, timeout=30
        )
        if result.returncode != 0:
            return None
        import json

        return int(json.loads(result.stdout)["pid"])

    def wait_until_free(self, timeout: float = 120) -> None:
        """Until the helper is back in its loop, done with the loads and imports its last requests reported.

        A client not greeted within HELLO_TIMEOUT (5 s) runs cold, rightly, with a warning on stderr; under load
        a helper still loading the model of the run before can take that long, and a test comparing a warm run's
        bytes with a cold one's would then compare two cold runs, one of them with the warning. The tests that
        compare wait here first (tests/warm/test_greeting.py tests the busy helper's greeting itself)."""
        from flmcli.warm import paths

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(paths.socket_path(self.directory))
            until_free(sock)

    def status(self) -> dict[str, Any]:
        import json

        result = subprocess.run(
            check=False, args=[*FLM, "warm", "status", "--json"], env=self.env, capture_output=True, timeout=30
        )
        return dict(json.loads(result.stdout))


def until_free(sock: socket.socket) -> None:
    """On a connection to a helper: its greeting, then the answer to a status request.

    The greeting alone does not say the helper is free: it greets the connections already waiting just before
    it loads a model or imports what a child reported (so that they are not left without a greeting for seconds),
    and the next client then waits out that work, or runs cold after HELLO_TIMEOUT. A request is read only in a
    later turn of its loop, after that work; and a child's reports are sent before it exits, so before its
    client hears how it ended. The status answer thus comes once everything reported by then is done."""
    from flmcli.warm import protocol

    def line() -> dict[str, Any]:
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            assert chunk, "the helper closed the connection before answering"
            data += chunk
        return protocol.decode(data.rstrip(b"\n"))

    assert line().get("flm") == "warm"
    sock.sendall(protocol.encode({"op": "status"}))
    assert "pid" in line()


def start_helper(directory: str, *options: str) -> Helper:
    result = subprocess.run(
        check=False, args=[*FLM, "warm", "start", *options], env=env_for(directory), capture_output=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return Helper(directory)


def stop_helper(helper: Helper) -> None:
    pid = helper.pid()
    subprocess.run(check=False, args=[*FLM, "warm", "stop"], env=helper.env, capture_output=True, timeout=60)
    if pid is not None:
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def private_dir() -> Iterator[str]:
    # short: a Unix socket path must stay under 108 bytes
    directory = tempfile.mkdtemp(prefix="flmw-")
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def helper() -> Iterator[Helper]:
    with private_dir() as directory:
        started = start_helper(directory)
        try:
            yield started
        finally:
            stop_helper(started)


@dataclass
class Run:
    returncode: int
    stdout: bytes
    stderr: bytes


def run(
    args: Sequence[str],
    env: dict[str, str],
    *,
    input: bytes | None = None,
    cwd: str | Path | None = None,
    timeout: float = 120,
) -> Run:
    result = subprocess.run(
        check=False, args=[*FLM, *args], env=env, input=input, capture_output=True, cwd=cwd, timeout=timeout
    )
    return Run(result.returncode, result.stdout, result.stderr)


def shell(script: str, env: dict[str, str], *, cwd: str | Path | None = None, timeout: float = 120) -> Run:
    result = subprocess.run(
        check=False,
        args=["bash", "-c", script],
        env={**env, "FLM": " ".join(FLM)},
        capture_output=True,
        cwd=cwd,
        timeout=timeout,
    )
    return Run(result.returncode, result.stdout, result.stderr)


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn data's first rows in every input format flm reads."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from pyarrow import feather

    folder = tmp_path_factory.mktemp("warm-inputs")
    table = pq.read_table(DATA).slice(0, 25)
    records = table.to_pylist()
    import json

    (folder / "json-rows.json").write_text(json.dumps(records))
    (folder / "ndjson-rows.ndjson").write_text("".join(json.dumps(r) + "\n" for r in records))
    pacsv.write_csv(table, folder / "csv-rows.csv")
    pacsv.write_csv(table, folder / "tsv-rows.tsv", pacsv.WriteOptions(delimiter="\t"))
    pq.write_table(table, folder / "parquet-rows.parquet")
    feather.write_feather(table, folder / "arrow-rows.arrow", compression="uncompressed")
    bad = records[:3] + [{**records[3], "Age": "old"}] + records[4:6]
    (folder / "bad.ndjson").write_text("".join(json.dumps(r) + "\n" for r in bad))
    big = pa.concat_tables([pq.read_table(DATA)] * 2)
    pq.write_table(big, folder / "big.parquet")
    return folder
