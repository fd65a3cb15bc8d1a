"""Once the model is loaded, a batch waits to be scored alone when two would weigh more than the job's READ_AHEAD
bytes (a 64k-row churn table: 7.4 MiB), so that a long input's pipeline holds what a short one's does; small
batches keep the prefetch depth of 2."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import flmcli.formats.parquet_format
import flmcli.job
import flmcli.predictor
from flmcli.cli import cli
from flmcli.prefetch import prefetch
from tests.helpers import CHURN, DATA
from tests.test_prefetch_reads import _settled


def _read(items: int, read: list[int]) -> Iterator[bytes]:
    for i in range(items):
        read.append(i)
        yield bytes(10)


def test_once_ready_items_that_would_pass_ahead_wait_one_at_a_time() -> None:
    read: list[int] = []
    items = prefetch(_read(100, read), 2, finish=lambda item: None, ready=lambda: True, weigh=len, ahead=15)
    try:
        _settled()
        assert len(read) == 1  # two of 10 bytes would pass 15
        assert items.full()
        assert len(list(items)) == 100
    finally:
        items.close()


@pytest.mark.parametrize(("weigh", "ahead"), [(len, 25), (len, 0), (lambda item: None, 15)])
def test_small_items_or_unknown_weights_keep_the_depth(weigh: Any, ahead: int) -> None:
    read: list[int] = []
    items = prefetch(_read(100, read), 2, finish=lambda item: None, ready=lambda: True, weigh=weigh, ahead=ahead)
    try:
        _settled()
        assert len(read) == 2
        assert len(list(items)) == 100
    finally:
        items.close()


def test_while_loading_the_budget_not_ahead_bounds_the_wait() -> None:
    read: list[int] = []
    items = prefetch(_read(100, read), 2, finish=lambda item: None, ready=lambda: False, weigh=len, budget=35,
                     ahead=15)
    try:
        _settled()
        assert len(read) == 3
    finally:
        items.close()


@pytest.mark.parametrize(("ahead", "most"), [(None, 1), (0, 2)])
def test_flm_predict_holds_one_big_batch_waiting_while_the_model_scores(
    ahead: int | None, most: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the job's READ_AHEAD, 64k-row churn batches wait one at a time; without it (0), two did."""
    source = tmp_path / "rows.parquet"
    pq.write_table(pa.concat_tables([pq.read_table(DATA)] * 30), source)  # 300k rows: 5 batches
    produced: list[int] = []
    waiting: list[int] = []
    original_read = flmcli.formats.parquet_format.read
    original_score = flmcli.predictor.Predictor.score

    def counting(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for batch in original_read(*args, **kwargs):
            produced.append(len(batch))
            yield batch

    def score(self: flmcli.predictor.Predictor, batch: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)  # a slow model: the reader has all the time it needs to fill what it may
        waiting.append(len(produced) - len(waiting) - 1)  # read, neither scored nor being scored
        return original_score(self, batch, **kwargs)

    monkeypatch.setattr(flmcli.formats.parquet_format, "read", counting)
    monkeypatch.setattr(flmcli.predictor.Predictor, "score", score)
    if ahead is not None:
        monkeypatch.setattr(flmcli.job, "READ_AHEAD", ahead)
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(source), "-o", str(tmp_path / "out.csv")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert len((tmp_path / "out.csv").read_bytes().splitlines()) == 300_001
    assert len(waiting) == 5
    assert max(waiting) == most, waiting
