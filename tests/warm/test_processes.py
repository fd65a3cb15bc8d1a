"""The helper as a process: lifecycle, signals, live pipes, a helper that dies, many clients, changed models."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import CHURN, FLM, Helper, Run, alive, env_for, private_dir, run, start_helper, stop_helper

# one warm helper (a session fixture) per run, not one per worker
pytestmark = pytest.mark.xdist_group("warm-helper")

ROW = {
    "RowNumber": 1,
    "CustomerId": 15634602,
    "Surname": "Hargrave",
    "CreditScore": 619,
    "Geography": "France",
    "Gender": "Female",
    "Age": 42,
    "Tenure": 2,
    "Balance": 0.0,
    "NumOfProducts": 1,
    "HasCrCard": 1,
    "IsActiveMember": 1,
    "EstimatedSalary": 101348.88,
}


def _line_within(stream: object, seconds: float) -> bytes:
    fd = stream.fileno()  # type: ignore[attr-defined]
    ready, _, _ = select.select([fd], [], [], seconds)
    assert ready, f"no output within {seconds} s"
    return os.read(fd, 1 << 16)


def _live_then_interrupt(env: dict[str, str]) -> tuple[bytes, Run]:
    """One row into a pipe that stays open: the answer must come before EOF; then Ctrl-C."""
    argv = [*FLM, "predict", str(CHURN), "--from", "ndjson"]
    pipe = subprocess.PIPE
    with subprocess.Popen(argv, env=env, stdin=pipe, stdout=pipe, stderr=pipe) as process:
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        try:
            process.stdin.write(json.dumps(ROW).encode() + b"\n")
            process.stdin.flush()
            first = _line_within(process.stdout, 120)
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)  # stdin stays open: only the signal can end it
            return first, Run(process.returncode, process.stdout.read(), process.stderr.read())
        finally:
            process.kill()


def test_live_pipe_answers_before_eof_and_ctrl_c_is_130(helper: Helper) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        cold = pool.submit(_live_then_interrupt, env_for(None))
        helper.wait_until_free()
        warm_first, warm = _live_then_interrupt(helper.env)
        cold_first, cold_run = cold.result()
    assert warm_first == cold_first == b'{"prediction":0}\n'
    assert warm.returncode == cold_run.returncode == 130
    assert warm.stderr == cold_run.stderr and b"Interrupted" in warm.stderr
    assert warm.stdout == cold_run.stdout


def test_status_and_start_again(helper: Helper) -> None:
    status = run(["warm", "status"], helper.env)
    assert status.returncode == 0 and status.stdout.startswith(b"running  pid ")
    pid = helper.pid()
    assert pid is not None and alive(pid)
    assert oct(os.stat(helper.directory).st_mode & 0o777) == "0o700"
    again = run(["warm", "start"], helper.env)
    assert again.returncode == 0 and f"already running (pid {pid})".encode() in again.stderr
    assert helper.pid() == pid


def test_idle_helper_exits_by_itself() -> None:
    with private_dir() as directory:
        env = env_for(directory)
        assert run(["warm", "status"], env).returncode == 1
        assert run(["warm", "stop"], env).returncode == 0  # nothing to stop is not an error
        started = run(["warm", "start", "--idle", "2s"], env, timeout=300)
        assert started.returncode == 0, started.stderr
        pid = int(started.stderr.split(b"(pid ", 1)[1].split(b",", 1)[0])
        try:
            deadline = time.monotonic() + 60
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not alive(pid), "the helper did not exit when idle"
            assert run(["warm", "status"], env).returncode == 1
            assert not os.path.exists(os.path.join(directory, "helper.sock"))
        finally:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_stop_ends_the_helper() -> None:
    with private_dir() as directory:
        helper = start_helper(directory)
        pid = helper.pid()
        stopped = run(["warm", "stop"], helper.env)
        assert stopped.returncode == 0 and f"stopped (pid {pid})".encode() in stopped.stderr
        assert pid is not None and not alive(pid)
        assert run(["warm", "status"], helper.env).returncode == 1


def test_helper_killed_mid_request_then_stale_socket_falls_back_cold() -> None:
    with private_dir() as directory:
        helper = start_helper(directory)
        try:
            pid = helper.pid()
            assert pid is not None
            argv = [*FLM, "predict", str(CHURN), "--from", "ndjson"]
            pipe = subprocess.PIPE
            with subprocess.Popen(argv, env=helper.env, stdin=pipe, stdout=pipe, stderr=pipe) as process:
                assert process.stdin is not None
                process.stdin.write(json.dumps(ROW).encode() + b"\n")
                process.stdin.flush()
                assert _line_within(process.stdout, 120) == b'{"prediction":0}\n'
                os.kill(pid, signal.SIGKILL)
                # the client ends with a clear error, and its stdout reaches EOF: the child died with the helper
                _, err = process.communicate(timeout=30)
            assert process.returncode == 1
            died = f"Error: the warm helper (pid {pid}) died before the request finished; its output may be incomplete"
            assert err == died.encode() + b"\n"
            # the dead helper's socket is still there: a client must not hang on it
            started = time.monotonic()
            cold = run(["predict", "--help"], helper.env, timeout=60)
            assert cold.returncode == 0 and cold.stdout.startswith(b"Usage: ")
            assert cold.stderr.count(b"\n") == 1 and b"is not running" in cold.stderr
            assert time.monotonic() - started < 60
            cleared = run(["warm", "stop"], helper.env)
            assert b"removed a stale socket" in cleared.stderr
            assert not os.path.exists(os.path.join(directory, "helper.sock"))
        finally:
            stop_helper(helper)


def test_concurrent_clients_and_repeated_requests_do_not_deadlock(helper: Helper, inputs: Path) -> None:
    big = str(inputs / "big.parquet")
    one = str(inputs / "ndjson-rows.ndjson")
    with ThreadPoolExecutor(max_workers=8) as pool:
        many = [
            pool.submit(run, ["predict", str(CHURN), big, "--to", "ndjson"], helper.env, timeout=120) for _ in range(6)
        ]
        few = [pool.submit(run, ["predict", str(CHURN), one], helper.env, timeout=120) for _ in range(6)]
        big_runs = [future.result() for future in many]
        one_runs = [future.result() for future in few]
    assert {r.returncode for r in big_runs + one_runs} == {0}
    assert len({r.stdout for r in big_runs}) == 1 and big_runs[0].stdout.count(b"\n") == 20000
    assert len({r.stdout for r in one_runs}) == 1 and one_runs[0].stdout.count(b"\n") == 25
    for _ in range(10):  # one after another: BLAS/OpenMP pools in forked children
        again = run(["predict", str(CHURN), big, "--to", "ndjson"], helper.env, timeout=120)
        assert again.returncode == 0 and again.stdout == big_runs[0].stdout


def test_model_file_changed_on_disk(helper: Helper, inputs: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.flm"
    original = CHURN.read_bytes()
    model.write_bytes(original)
    rows = str(inputs / "ndjson-rows.ndjson")
    helper.wait_until_free()
    first = run(["predict", str(model), rows], helper.env)
    assert first.returncode == 0
    # same size, same mtime, other bytes: only the content hash can tell
    stamp = model.stat().st_mtime_ns
    changed = bytearray(original)
    changed[-10] ^= 0xFF  # inside the compressed model section: a checksum error when read
    model.write_bytes(bytes(changed))
    os.utime(model, ns=(stamp, stamp))
    helper.wait_until_free()
    warm = run(["predict", str(model), rows], helper.env)
    cold = run(["predict", str(model), rows], env_for(None))
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert warm.returncode == 3 and b"corrupt" in warm.stderr  # not the cached model
    model.write_bytes(original)
    helper.wait_until_free()
    back = run(["predict", str(model), rows], helper.env)
    assert (back.returncode, back.stdout, back.stderr) == (first.returncode, first.stdout, first.stderr)


def test_flm_warm_0_never_uses_the_helper(helper: Helper) -> None:
    before = helper.status()["requests"]
    result = run(["predict", "--help"], {**helper.env, "FLM_WARM": "0"})
    assert result.returncode == 0
    assert helper.status()["requests"] == before
    served = run(["predict", "--help"], helper.env)
    assert served.stdout == result.stdout and helper.status()["requests"] == before + 1
    for dask in (["--dask", "127.0.0.1:1"], ["--dask=127.0.0.1:1"]):  # cluster runs stay cold
        assert run(["predict", *dask, "--help"], helper.env).stdout == result.stdout
    assert run(["predict", "--help"], {**helper.env, "FLM_DASK": "127.0.0.1:1"}).stdout == result.stdout
    assert helper.status()["requests"] == before + 1


def test_the_client_imports_nothing_heavy(helper: Helper, inputs: Path) -> None:
    process = subprocess.run(
        check=False,
        args=[*FLM[:1], "-X", "importtime", *FLM[1:], "predict", str(CHURN), str(inputs / "json-rows.json")],
        env=helper.env,
        capture_output=True,
        timeout=120,
    )
    assert process.returncode == 0 and process.stdout.count(b",") == 24
    imported = {
        line.split(b"|")[-1].strip().decode()
        for line in process.stderr.splitlines()
        if line.startswith(b"import time:")
    }
    assert "flmcli.warm.client" in imported
    assert not imported & {"click", "numpy", "pandas", "sklearn", "pyarrow", "orjson"}


@pytest.mark.parametrize("problem", ["mode", "owner"])
def test_a_directory_that_is_not_private_is_refused(problem: str) -> None:
    with private_dir() as base:
        directory = os.path.join(base, "flm")
        os.mkdir(directory, 0o700)
        if problem == "mode":
            os.chmod(directory, 0o755)
            expected = b"has mode 0755"
        else:
            if os.getuid() != 0:
                pytest.skip("chown to another user needs root")
            os.chown(directory, 65534, 65534)
            expected = b"belongs to uid 65534"
        env = env_for(directory)
        started = run(["warm", "start"], env)
        assert started.returncode == 1 and expected in started.stderr
        assert run(["warm", "status"], env).returncode == 1
        served = run(["predict", "--help"], env)
        assert served.returncode == 0 and served.stdout.startswith(b"Usage: ")
        assert served.stderr.startswith(b"Warning: not using the warm helper: ") and expected in served.stderr
        assert served.stderr.count(b"\n") == 1
        assert not os.path.exists(os.path.join(directory, "helper.sock"))


def test_another_users_connection_is_refused(helper: Helper) -> None:
    if os.getuid() != 0:
        pytest.skip("connecting as another user needs root")
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 that another user may run")
    path = os.path.join(helper.directory, "helper.sock")
    os.chmod(helper.directory, 0o711)  # let uid 65534 reach the socket, so the helper's own check is what refuses
    os.chmod(path, 0o777)
    try:
        probe = (
            f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({path!r}); s.settimeout(10);"
            "print(repr(s.recv(100)))"
        )
        result = subprocess.run(check=False, args=[python, "-c", probe], capture_output=True, timeout=30, user=65534)
    finally:
        os.chmod(helper.directory, 0o700)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"b''"  # closed without a word: no hello, no request taken


@pytest.mark.parametrize("other", ["installation", "code"])
def test_a_helper_running_other_code_is_not_used(other: str) -> None:
    import socket
    import sys
    import threading

    from flmcli import __version__
    from flmcli.warm.protocol import code_stamp

    hello = {"flm": "warm", "pid": 1, "version": __version__, "prefix": sys.prefix, "code": code_stamp()}
    if other == "installation":
        hello.update(version="0.0.1", prefix="/elsewhere")
        expected = b"runs flm 0.0.1 from /elsewhere"
    else:
        hello.update(code="1:1")  # started before flm's files or the installed packages changed
        expected = b"runs older code"
    with private_dir() as directory:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(os.path.join(directory, "helper.sock"))
        listener.listen(4)
        taken: list[bytes] = []

        def serve() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.sendall(json.dumps(hello).encode() + b"\n")
                connection.settimeout(5)
                try:
                    taken.append(connection.recv(100))
                except OSError:
                    taken.append(b"?")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            result = run(["predict", "--help"], env_for(directory))
        finally:
            thread.join(10)
            listener.close()
        assert result.returncode == 0 and result.stdout.startswith(b"Usage: ")
        assert result.stderr.count(b"\n") == 1 and expected in result.stderr
        assert taken == [b""]  # nothing was sent to it
