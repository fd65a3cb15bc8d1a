"""While the model loads, the reader reads tables further ahead (up to a byte budget) and, once it is loaded, makes
the model input of every batch read meanwhile on its own thread, oldest first: the main thread only scores."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import flmcli
import flmcli.features
import flmcli.job
import flmcli.predictor
from flmcli.batch import Batch
from flmcli.cli import cli
from flmcli.features import FeatureSpec
from flmcli.prefetch import prefetch
from tests.helpers import CHURN, DATA, invoke

ROWS = 3000


def _settle(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def _produced(count: int, made: list[int]) -> Iterator[int]:
    for i in range(count):
        made.append(i)
        yield i


def test_more_items_wait_while_not_ready_up_to_the_budget() -> None:
    made: list[int] = []
    items = prefetch(_produced(100, made), depth=2, finish=lambda item: None, ready=lambda: False,
                     weigh=lambda item: 10, budget=45)
    try:
        _settle(lambda: len(made) >= 4)  # not 5: that is never reached, and waited out the whole 10 s
        time.sleep(0.3)  # had it room for more, it would have read on by now
        # 4 items of 10 bytes wait (45 allows no fifth): the next, expected to weigh what the last did, is not read
        # until there is room for it (test_prefetch_reads).
        assert len(made) == 4
        assert next(items) == 0
        _settle(lambda: len(made) >= 5)
        time.sleep(0.3)
        assert len(made) == 5
    finally:
        items.close()


def test_items_of_unknown_weight_wait_no_further_than_the_depth() -> None:
    made: list[int] = []
    items = prefetch(_produced(100, made), depth=2, finish=lambda item: None, ready=lambda: False,
                     weigh=lambda item: None, budget=1 << 30)
    try:
        _settle(lambda: len(made) >= 2)
        time.sleep(0.3)
        assert len(made) == 2  # two waiting: as without a budget
    finally:
        items.close()


def test_once_ready_the_depth_alone_bounds_the_wait() -> None:
    made: list[int] = []
    items = prefetch(_produced(100, made), depth=2, finish=lambda item: None, ready=lambda: True,
                     weigh=lambda item: 1, budget=1 << 30)
    try:
        _settle(lambda: len(made) >= 2)
        time.sleep(0.3)
        assert len(made) == 2
    finally:
        items.close()


def test_items_read_before_ready_are_finished_on_the_thread_oldest_first_and_once() -> None:
    loaded = threading.Event()
    finished: list[tuple[int, str]] = []
    made: list[int] = []

    def finish(item: int) -> None:
        finished.append((item, threading.current_thread().name))
        time.sleep(0.01)  # long enough for the consumer to find items being finished

    items = prefetch(_produced(40, made), depth=2, finish=finish, ready=loaded.is_set, weigh=lambda item: 1,
                     budget=10)
    _settle(lambda: len(made) >= 10)  # the budget's 10 items of weight 1 (11 was never reached: 10 s waited)
    assert not finished  # nothing can be finished before it is ready
    loaded.set()
    items.wake()
    got = list(items)
    assert got == list(range(40))
    order = [item for item, _ in finished]
    assert order == sorted(order) and len(set(order)) == len(order)  # oldest first, each once
    assert {name for _, name in finished} == {"flm-prefetch"}
    assert order  # the items read while it was not ready, at least, were finished on the thread


def test_the_thread_never_finishes_an_item_the_consumer_holds() -> None:
    loaded = threading.Event()
    state: dict[int, str] = {}
    lock = threading.Lock()

    def finish(item: int) -> None:
        with lock:
            assert state.get(item) is None, f"item {item} finished after the consumer took it"
            state[item] = "finished"
        time.sleep(0.002)

    items = prefetch(iter(range(200)), depth=2, finish=finish, ready=loaded.is_set, weigh=lambda item: 1,
                     budget=50)
    time.sleep(0.2)
    loaded.set()
    for item in items:
        with lock:
            state.setdefault(item, "taken unfinished")
    assert len(state) == 200


def test_a_failing_finish_leaves_the_item_to_the_consumer() -> None:
    def finish(item: int) -> None:
        raise ValueError("cannot")

    assert list(prefetch(iter(range(5)), finish=finish, ready=lambda: True)) == list(range(5))


def test_closing_lets_go_of_what_waits() -> None:
    made: list[int] = []
    items = prefetch(_produced(1000, made), depth=2, finish=lambda item: None, ready=lambda: False,
                     weigh=lambda item: 1, budget=100)
    _settle(lambda: len(made) >= 50)
    items.close()
    time.sleep(0.3)
    stopped = len(made)
    time.sleep(0.3)
    assert len(made) == stopped < 1000


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ahead")
    table = pq.read_table(DATA).slice(0, ROWS)
    made = {"csv": folder / "rows.csv", "parquet": folder / "rows.parquet"}
    pacsv.write_csv(table, made["csv"])
    pq.write_table(table, made["parquet"])
    return made


# Not CSV: its reader types no row before the model says which columns are text (Job._as_text; a zip code
# 02139 typed as an integer is 2139): see tests/job/test_csv_types_wait_for_the_model.py.
@pytest.mark.parametrize("name", ["parquet"])
def test_batches_read_while_the_model_loads_are_made_on_the_reader_thread(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The model loads only once the reader has read all the batches (more than the prefetch depth): every batch's
    input is still made on the reader thread, none on the main thread, and the output is what it always was."""
    reference = invoke("predict", CHURN, files[name], "--batch-size", "200", "--to", "csv")
    assert reference.returncode == 0
    batches = -(-ROWS // 200)
    read = threading.Semaphore(0)
    made: list[str] = []
    original_table = flmcli.features._from_table
    original_load = flmcli.predictor.Predictor.from_options.__func__  # type: ignore[attr-defined]
    original_batches = flmcli.job.Job._batches

    all_read = threading.Event()

    def counted(self: flmcli.job.Job, inputs: Any) -> Iterator[Batch]:
        for batch in original_batches(self, inputs):
            yield batch
            read.release()
        all_read.set()

    def recorded(batch: Batch, spec: FeatureSpec) -> Any:
        made.append(threading.current_thread().name)
        return original_table(batch, spec)

    def slow_load(cls: type[flmcli.predictor.Predictor], *args: Any) -> flmcli.predictor.Predictor:
        # Every batch is read while the model "loads" (the prefetch depth is 2; they all fit in the byte budget).
        for _ in range(batches):
            assert read.acquire(timeout=20)
        assert all_read.wait(timeout=20)
        # A batch the consumer finds while the reader is still reading is made by the consumer (it does not wait for
        # a read): the reader's last step after its last batch, ending its loop, is left time to happen.
        time.sleep(0.2)
        return original_load(cls, *args)  # type: ignore[no-any-return]

    monkeypatch.setattr(flmcli.job.Job, "_batches", counted)
    monkeypatch.setattr(flmcli.features, "_from_table", recorded)
    monkeypatch.setattr(flmcli.predictor.Predictor, "from_options", classmethod(slow_load))
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(files[name]), "--batch-size", "200", "--to", "csv"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == reference.stdout
    assert made == ["flm-prefetch"] * batches, made
