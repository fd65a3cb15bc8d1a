"""One bad-row algorithm: the batcher merges requests, the predictor scores them once (finding every bad row
by segments), and each request gets its own rows or its own first error."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from flmcli.batch import Batch
from flmcli.errors import InputError

IRIS = Path(__file__).resolve().parents[2] / "tests" / "data" / "flm-corpus" / "flama-2.2.2_iris-logreg_zstd_p2.flm"
GOOD = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]


@pytest.fixture(scope="module")
def predictor() -> Any:
    from flmcli.predictor import Predictor

    return Predictor.from_path(IRIS)


def test_score_by_segments_names_each_segments_first_bad_row(predictor: Any) -> None:
    rows = GOOD + [GOOD[0], "oops", [1, 2, "x", 4], GOOD[1]] + GOOD
    calls = []
    call = predictor.call

    def counted(X: Any, method: str | None = None) -> Any:
        calls.append(len(X))
        return call(X, method)

    predictor.call = counted
    try:
        scored = predictor.score(Batch(source="input", records=rows), segments=[0, 3, 7])
    finally:
        del predictor.call
    # Segment 2 fails at its row 2 (batch row 4); its row 3 (a bad value) comes after and is never scored.
    assert scored.failures is not None and sorted(scored.failures) == [4]
    assert str(scored.failures[4]).startswith("input:5: ")
    alone = predictor.score(Batch(source="input", records=GOOD)).outputs["prediction"].tolist()
    assert scored.slice(0, 3).outputs["prediction"].tolist() == alone
    assert scored.slice(7, 3).outputs["prediction"].tolist() == alone
    assert scored.slice(3, 4).failures == {1: scored.failures[4]}
    assert sum(calls) <= len(rows)  # the bad value row (5) is never sent to the model


def _run(predictor: Any, requests: list[list[Any]]) -> tuple[list[Any], list[tuple[int, int]]]:
    from flmcli.serve.batcher import Batcher

    observed: list[tuple[int, int]] = []

    async def main() -> list[Any]:
        batcher = Batcher(predictor, observe=lambda rows, merged: observed.append((rows, merged)))
        try:
            # Queued before the batcher's task first runs: one model call for all of them.
            batches = [Batch(source="input", records=rows) for rows in requests]
            return await asyncio.gather(*(batcher.submit(b, "predict") for b in batches), return_exceptions=True)
        finally:
            await batcher.aclose()

    return asyncio.run(main()), observed


def test_batcher_scores_merged_requests_once_and_fails_each_on_its_own_row(predictor: Any) -> None:
    requests = [GOOD, [GOOD[0], [1, 2, "x", 4]], [[1, 2, 3], GOOD[2]], GOOD[::-1]]
    results, observed = _run(predictor, requests)
    good, value_error, short_row, reversed_good = results
    alone = predictor.score(Batch(source="input", records=GOOD)).outputs["prediction"].tolist()
    assert good.outputs["prediction"].tolist() == alone
    assert reversed_good.outputs["prediction"].tolist() == alone[::-1]
    # Each error names the row in its own request's numbering.
    assert isinstance(value_error, InputError) and str(value_error).startswith("input:2: field '#2'")
    assert isinstance(short_row, InputError) and str(short_row) == "input:1: expected 4 values, got 3"
    # One merged call for the four requests: no pre-validation pass, no per-request retry.
    assert observed == [(sum(map(len, requests)), 4)]
