"""Short model calls on the event loop: which calls are made there, and that they answer exactly as the model
thread does (the same rows, the same errors), the search for a bad row always left to the model thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flmcli.batch import Batch
from flmcli.errors import InputError

IRIS = Path(__file__).resolve().parents[2] / "tests" / "data" / "flm-corpus" / "flama-2.2.2_iris-logreg_zstd_p2.flm"
GOOD = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]


@pytest.fixture(scope="module")
def loaded() -> Any:
    from flmcli.predictor import Predictor

    return Predictor.from_path(IRIS)


@pytest.fixture()
def predictor(loaded: Any) -> Iterator[Any]:
    yield loaded
    loaded.__dict__.pop("call", None)  # the tests wrap the model call on the instance


def _calls_on(predictor: Any) -> list[str]:
    """Record the thread of each model call: "loop" (the test's main thread runs the loop) or "model"."""
    threads: list[str] = []
    call = predictor.call

    def recorded(X: Any, method: str | None = None) -> Any:
        threads.append("loop" if threading.current_thread() is threading.main_thread() else "model")
        return call(X, method)

    predictor.call = recorded
    return threads


def _run(predictor: Any, requests: list[tuple[list[Any], bool]], **settings: Any) -> list[Any]:
    """Each (rows, small) request submitted alone, one after the other, through one batcher."""
    from flmcli.serve.batcher import Batcher

    async def main() -> list[Any]:
        batcher = Batcher(predictor, **settings)
        results = []
        try:
            for rows, small in requests:
                batch = Batch(source="input", records=rows)
                try:
                    results.append(await batcher.submit(batch, "predict", small=small))
                except InputError as error:
                    results.append(error)
        finally:
            await batcher.aclose()
        return results

    return asyncio.run(main())


def _predictions(result: Any) -> list[Any]:
    return list(result.outputs["prediction"].tolist())


def test_small_calls_run_on_the_loop_once_one_was_timed(predictor: Any) -> None:
    from flmcli.serve.batcher import INLINE_ROWS

    threads = _calls_on(predictor)
    many = (GOOD * INLINE_ROWS)[: INLINE_ROWS + 1]
    results = _run(predictor, [(GOOD[:1], True), (GOOD[:1], True), (GOOD, True), (GOOD, False), (many, True)],
                   inline_below=float("inf"))
    threads = list(threads)
    # The first small call is timed on the model thread; then small bodies of few rows are scored on the loop;
    # a body not known to be small, or more rows than INLINE_ROWS, go to the model thread.
    assert threads == ["model", "loop", "loop", "model", "model"]
    expected = _predictions(predictor.score(Batch(source="input", records=many)))
    assert [_predictions(r) for r in results] == [expected[:1], expected[:1], expected[:3], expected[:3], expected]


def test_nothing_runs_on_the_loop_when_small_calls_are_slow(predictor: Any) -> None:
    threads = _calls_on(predictor)
    _run(predictor, [(GOOD[:1], True)] * 4, inline_below=0.0)
    assert threads == ["model"] * 4

    # The default budget is the GIL's switch interval: a model taking longer is always called on its thread.
    call = predictor.call

    def slow(X: Any, method: str | None = None) -> Any:
        time.sleep(0.02)
        return call(X, method)

    predictor.call = slow
    threads.clear()
    _run(predictor, [(GOOD[:1], True)] * 4)
    assert threads == ["model"] * 4


@pytest.mark.parametrize(
    "rows, error",
    [
        ([GOOD[0], [1, 2, "x", 4], GOOD[1]], "input:2: field '#2'"),  # a value the model refuses: a search
        ([GOOD[0], [1, 2, 3]], "input:2: expected 4 values, got 3"),  # found before any model call
        ([[1, 2, "x", 4]], "input:1: field '#2'"),
    ],
)
def test_a_bad_row_is_named_as_on_the_model_thread_and_searched_there(
    predictor: Any, rows: list[Any], error: str
) -> None:
    threaded = _run(predictor, [(GOOD[:1], True), (rows, True)], inline_below=0.0)[1]
    threads = _calls_on(predictor)
    inline = _run(predictor, [(GOOD[:1], True), (rows, True), (GOOD, True)], inline_below=float("inf"))
    threads = list(threads)
    assert isinstance(threaded, InputError) and str(threaded).startswith(error)
    assert isinstance(inline[1], InputError) and str(inline[1]) == str(threaded)
    # At most one call for the bad request on the loop; every call of the search is on the model thread; the
    # next small request is back on the loop.
    bad_calls = threads[1:-1]
    assert bad_calls.count("loop") <= 1 and bad_calls[:1] in (["loop"], [])
    assert all(thread == "model" for thread in bad_calls[1:])
    assert threads[-1] == "loop" and _predictions(inline[2]) == _predictions(inline[0]) + _predictions(
        predictor.score(Batch(source="input", records=GOOD[1:])))


def test_merged_small_requests_on_the_loop_each_get_their_own_rows_or_error(predictor: Any) -> None:
    from flmcli.serve.batcher import Batcher

    threads = _calls_on(predictor)
    requests = [GOOD[:1], [GOOD[1], [1, 2, "x", 4]], GOOD[2:]]

    async def main() -> list[Any]:
        batcher = Batcher(predictor, inline_below=float("inf"))
        try:
            await batcher.submit(Batch(source="input", records=GOOD[:1]), "predict", small=True)  # timed
            batches = [Batch(source="input", records=rows) for rows in requests]
            return await asyncio.gather(*(batcher.submit(b, "predict", small=True) for b in batches),
                                        return_exceptions=True)
        finally:
            await batcher.aclose()

    first, bad, last = asyncio.run(main())
    threads = list(threads)
    alone = _predictions(predictor.score(Batch(source="input", records=GOOD)))
    assert _predictions(first) == alone[:1] and _predictions(last) == alone[2:]
    assert isinstance(bad, InputError) and str(bad).startswith("input:2: field '#2'")
    # one failed attempt on the loop for the three merged requests, then the search on the model thread
    assert threads[:2] == ["model", "loop"] and set(threads[2:]) == {"model"}
