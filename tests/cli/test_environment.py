"""`flm predict`'s terminal policy lives in the command, over replaceable stdio (cli/environment.py)."""

from __future__ import annotations

import io

import orjson
import pytest

from flmcli.cli.environment import Environment
from flmcli.cli.predict import run
from flmcli.errors import InputError, PartialFailure
from flmcli.options import PredictOptions
from tests.helpers import CHURN

ROW = [10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]


def environment(stdin: bytes = b"", *, stdout_isatty: bool = False) -> Environment:
    # a real stdin is buffered: detection peeks at it
    return Environment(stdin=io.BufferedReader(io.BytesIO(stdin)),  # type: ignore[arg-type]
                       stdout=io.BytesIO(), stderr=io.BytesIO(), stdout_isatty=stdout_isatty)


def output(env: Environment) -> bytes:
    assert isinstance(env.stdout, io.BytesIO)
    return env.stdout.getvalue()


def test_rows_from_the_given_stdin_to_the_given_stdout() -> None:
    env = environment(orjson.dumps([ROW, ROW]))
    run(str(CHURN), ["-"], PredictOptions(), output=None, progress=None, env=env)
    assert output(env) == b"[0,0]\n"


def test_binary_output_is_refused_on_a_terminal_only() -> None:
    rows = orjson.dumps([ROW])
    with pytest.raises(InputError, match="refusing to write parquet to a terminal"):
        run(str(CHURN), ["-"], PredictOptions(to="parquet"), output=None, progress=None,
            env=environment(rows, stdout_isatty=True))
    piped = environment(rows)
    run(str(CHURN), ["-"], PredictOptions(to="parquet"), output=None, progress=None, env=piped)
    assert output(piped).startswith(b"PAR1")


def test_skipped_rows_are_reported_on_the_given_stderr() -> None:
    env = environment(orjson.dumps([ROW, ROW[:3], ROW]))
    with pytest.raises(PartialFailure):
        run(str(CHURN), ["-"], PredictOptions(on_error="skip"), output=None, progress=None, env=env)
    assert output(env) == b"[0,0]\n"
    assert isinstance(env.stderr, io.BytesIO)
    report = orjson.loads(env.stderr.getvalue())
    assert report["source"] == "<stdin>" and report["line"] == 2 and "13 values" in report["error"]
