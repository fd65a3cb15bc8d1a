"""Real shell pipelines: chaining, an early-closing reader, a slow producer, Ctrl-C: here the process is the point.

Where the model is not (all but the chain, which checks the predictions), the processes load
tests/plain_model.py's, which spares each the scikit-learn import."""

from __future__ import annotations

import select
import signal
import subprocess
import sys

import orjson
import pandas as pd

import flmcli
from tests.helpers import CHURN, DATA, invoke
from tests.plain_model import TRUST, process_env

FLM = [sys.executable, "-m", "flmcli"]


def churn_lines(n: int) -> list[bytes]:
    frame = pd.read_parquet(DATA).drop(columns=["Exited"]).iloc[:n]
    return [orjson.dumps(r) for r in frame.to_dict("records")]


def test_two_models_chain_through_a_pipe(tmp_path) -> None:
    lines = churn_lines(200)
    source = tmp_path / "rows.ndjson"
    source.write_bytes(b"\n".join(lines) + b"\n")
    first = subprocess.Popen([*FLM, "predict", CHURN, source, "--keep-input"], stdout=subprocess.PIPE)
    second = subprocess.run(
        [*FLM, "predict", CHURN, "--keep-input", "--method", "predict_proba", "--output-name", "p"],
        stdin=first.stdout,
        capture_output=True,
        timeout=120,
    )
    first.stdout.close()  # type: ignore[union-attr]
    assert first.wait(timeout=60) == 0
    assert second.returncode == 0, second.stderr
    rows = [orjson.loads(line) for line in second.stdout.splitlines()]
    frame = pd.read_parquet(DATA).drop(columns=["Exited"]).iloc[:200]
    model = flmcli.load(CHURN).estimator
    assert len(rows) == 200
    assert [r["CustomerId"] for r in rows] == frame["CustomerId"].tolist()  # every row, in order
    assert [r["prediction"] for r in rows] == model.predict(frame).tolist()
    assert [r["p_1"] for r in rows] == model.predict_proba(frame)[:, 1].tolist()


def test_positional_rows_chain_too() -> None:
    # what crosses the pipe is the point here, not the pipe: in-process
    rows = [orjson.loads(line) for line in churn_lines(3)]
    data = orjson.dumps([list(r.values()) for r in rows])
    first = invoke("predict", CHURN, "--keep-input", input=data)
    assert first.returncode == 0, first.stderr
    second = invoke("predict", CHURN, input=first.stdout)
    assert second.returncode == 0, second.stderr
    assert orjson.loads(second.stdout) == [r["prediction"] for r in orjson.loads(first.stdout)]


def test_head_closing_the_pipe_ends_quietly(tmp_path, plain_flm) -> None:
    source = tmp_path / "rows.ndjson"
    source.write_bytes(b"\n".join(churn_lines(2000) * 50) + b"\n")
    result = subprocess.run(
        f"{sys.executable} -m flmcli predict {plain_flm} --trust {TRUST} {source} --batch-size 256 | head -1",
        shell=True,
        capture_output=True,
        timeout=120,
        env=process_env(),
    )
    assert result.stdout.count(b"\n") == 1
    assert result.stderr == b""


def test_slow_producer_gets_answers_before_it_closes(plain_flm) -> None:
    lines = churn_lines(2)
    with subprocess.Popen(
        [*FLM, "predict", plain_flm, "--trust", TRUST, "--max-delay", "0.05"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=process_env(),
    ) as process:
        assert process.stdin and process.stdout
        try:
            for number, line in enumerate(lines, 1):
                process.stdin.write(line + b"\n")
                process.stdin.flush()
                # the producer keeps its end open: the answer must come anyway
                ready, _, _ = select.select([process.stdout], [], [], 60)
                assert ready, f"no answer to row {number} while the producer was still open"
                answer = process.stdout.readline()
                assert orjson.loads(answer).keys() == {"prediction"}
                assert process.poll() is None
        finally:
            process.stdin.close()
        assert process.wait(timeout=60) == 0


def test_ctrl_c_exits_130(plain_flm) -> None:
    with subprocess.Popen(
        [*FLM, "predict", plain_flm, "--trust", TRUST], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=process_env()
    ) as process:
        assert process.stdin and process.stdout and process.stderr
        process.stdin.write(churn_lines(1)[0] + b"\n")
        process.stdin.flush()
        process.stdout.readline()  # the model is loaded and the loop is waiting for rows
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=30) == 130
        finally:
            process.kill()
        stderr = process.stderr.read()
    assert b"Traceback" not in stderr
