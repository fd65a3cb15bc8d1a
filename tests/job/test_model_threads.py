"""While `flm predict` runs, BLAS gets one core less than the machine (the reader thread parses on the other),
unless the user set its thread count; the pools are given back afterwards."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from threadpoolctl import threadpool_info, threadpool_limits

import flmcli.predictor
from flmcli.cli import cli
from flmcli.job import _THREAD_VARIABLES
from tests.formats.test_columnar_parity import CHURN, churn_rows


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def _threads_during_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """BLAS thread counts seen at each call into the model of a real `flm predict` run."""
    source = tmp_path / "rows.ndjson"
    source.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in churn_rows()))
    seen: list[list[int]] = []
    original = flmcli.predictor.Predictor.call

    def recording(self: flmcli.predictor.Predictor, X: Any, method: str | None = None) -> Any:
        seen.append(_blas_threads())
        return original(self, X, method)

    monkeypatch.setattr(flmcli.predictor.Predictor, "call", recording)
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(source)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == len(churn_rows())
    return seen


def _cores() -> int:
    cores = len(os.sched_getaffinity(0))
    if cores < 2:
        pytest.skip("one core: BLAS has one thread either way")
    return cores


def _blas_with_a_thread_per_core(cores: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """BLAS loaded with one thread per core, as it starts when no variable is set (the suite's conftest sets
    OMP_NUM_THREADS=1, which OpenBLAS reads at start-up): else flm's limit and the start-up count would be the
    same number and these tests could not tell them apart. No thread variable is left set, unless a test sets one."""
    import flmcli

    for name in _THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    flmcli.load(CHURN).estimator  # numpy's BLAS loaded, so that its pools are there to look at
    assert _blas_threads(), "no BLAS library loaded"
    threadpool_limits(limits=cores, user_api="blas")
    before = _blas_threads()
    assert before and all(count == cores for count in before), before
    return before


@pytest.fixture
def blas_threads_restored() -> Any:
    """The BLAS pools as the other tests of this worker had them, whatever a test here set."""
    with threadpool_limits(limits=None):  # remembers the counts; gives them back on exit
        yield


def test_one_core_left_for_the_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      blas_threads_restored: None) -> None:
    cores = _cores()
    before = _blas_with_a_thread_per_core(cores, monkeypatch)
    seen = _threads_during_job(tmp_path, monkeypatch)
    assert seen and all(counts == [max(1, cores - 1)] * len(counts) for counts in seen), (seen, cores)
    assert _blas_threads() == before


def test_the_users_setting_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                blas_threads_restored: None) -> None:
    cores = _cores()
    before = _blas_with_a_thread_per_core(cores, monkeypatch)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(cores))
    seen = _threads_during_job(tmp_path, monkeypatch)
    assert seen and all(counts == before for counts in seen), (seen, before)
