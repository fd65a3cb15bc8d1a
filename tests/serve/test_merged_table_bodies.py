"""Requests whose rows are tables (CSV, TSV bodies; typed columns with a fallback) merged into one model call: each
gets exactly the answer it gets alone. A CSV row the reader could not parse holds its place with a stand-in row
(`Batch.bad`); merged, that stand-in was scored and answered 200 with a made-up prediction."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path
from typing import Any

import pytest

from flmcli.batch import Batch
from flmcli.errors import InputError
from tests.helpers import CHURN

IRIS = Path(__file__).resolve().parents[2] / "tests" / "data" / "flm-corpus" / "flama-2.2.2_iris-logreg_zstd_p2.flm"

HEADER = b"a,b,c,d\n"
GOOD = [b"5.1,3.5,1.4,0.2", b"6.2,2.9,4.3,1.3", b"7.7,3.0,6.1,2.3"]


def _csv(*rows: bytes, separator: bytes = b",") -> bytes:
    return b"".join(row.replace(b",", separator) + b"\n" for row in (HEADER.strip(), *rows))


Post = tuple[str, bytes, dict[str, str]]  # (path, body, headers)


def merged_and_alone(path: Path, posts: list[Post], blocker: Post,
                     ) -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]], list[int]]:
    """Each request sent alone, then all at once while the model is busy with `blocker` (a body too big to be
    scored on the event loop: its call goes to the model's thread, which is held), so that they queue and are
    scored in one call. Returns the (status, body) answers alone, merged, and the number of requests of each call."""
    import httpx

    from flmcli.predictor import Predictor
    from flmcli.serve import batcher as batcher_module
    from flmcli.serve.app import create_app

    predictor = Predictor.from_path(path)
    gate = threading.Event()
    busy = threading.Event()
    call = predictor.call

    def held(X: Any, method: str | None = None) -> Any:
        if threading.current_thread() is not threading.main_thread() and not gate.is_set():
            busy.set()
            gate.wait(30)
        return call(X, method)

    predictor.call = held  # type: ignore[method-assign]
    gate.set()
    merges: list[int] = []
    submitted: list[int] = []
    note = batcher_module.Batcher._note
    submit = batcher_module.Batcher.submit_parts

    def noted(self: Any, rows: int, requests: int) -> None:
        merges.append(requests)
        note(self, rows, requests)

    def counted(self: Any, batch: Batch, methods: tuple[str, ...], *, small: bool = False) -> Any:
        submitted.append(len(batch))
        return submit(self, batch, methods, small=small)

    app = create_app(predictor)

    async def post(client: Any, request: Post) -> tuple[int, bytes]:
        answer = await client.post(request[0], content=request[1], headers=request[2])
        return answer.status_code, answer.content

    async def main() -> tuple[list[Any], list[Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            alone = [await post(client, request) for request in posts]
            merges.clear()
            gate.clear()
            held_call = asyncio.create_task(post(client, blocker))
            for _ in range(3000):
                if busy.is_set():
                    break
                await asyncio.sleep(0.01)
            assert busy.is_set()
            before = len(submitted)
            tasks = [asyncio.create_task(post(client, request)) for request in posts]
            for _ in range(3000):
                if len(submitted) >= before + len(posts):
                    break
                await asyncio.sleep(0.01)
            gate.set()
            together = list(await asyncio.gather(*tasks))
            assert (await held_call)[0] == 200
            return alone, together

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batcher_module.Batcher, "_note", noted)
        patch.setattr(batcher_module.Batcher, "submit_parts", counted)
        alone, together = asyncio.run(main())
    return alone, together, merges


def _merged_and_alone(path: Path, bodies: list[tuple[str, bytes]]) -> tuple[list[Any], list[Any], list[int]]:
    """Table bodies to /predict/, as (status, text); a body over SMALL_BODY (one batch) holds the model's thread."""
    posts = [("/predict/", body, {"content-type": kind}) for kind, body in bodies]
    blocker = ("/predict/", _csv(*GOOD * 300), {"content-type": "text/csv"})
    alone, together, merges = merged_and_alone(path, posts, blocker)
    return ([(status, text.decode()) for status, text in alone], [(status, text.decode()) for status, text in together],
            merges)


@pytest.mark.parametrize("separator, content_type", [(b",", "text/csv"), (b"\t", "text/tab-separated-values")])
def test_a_short_row_fails_its_own_request_when_merged(separator: bytes, content_type: str) -> None:
    bodies = [
        (content_type, _csv(*GOOD, separator=separator)),
        (content_type, _csv(GOOD[0], b"6.2,2.9", GOOD[2], separator=separator)),  # row 2 (line 3) is short
        (content_type, _csv(GOOD[2], GOOD[1], separator=separator)),
        (content_type, _csv(GOOD[1], GOOD[0], b"1,2,3,4,5", separator=separator)),  # row 3 (line 4) is long
    ]
    alone, together, merges = _merged_and_alone(IRIS, bodies)
    assert alone[1] == (400, '{"error":"input:3: expected 4 fields, got 2"}')
    assert alone[3][0] == 400 and alone[3][1].startswith('{"error":"input:4: ')
    assert alone[0][0] == alone[2][0] == 200
    assert max(merges) == len(bodies)  # they were scored in one call
    assert together == alone


def _ndjson_batch(text: bytes) -> Batch:
    from flmcli.formats import ndjson_arrow

    [batch] = list(ndjson_arrow.read(io.BytesIO(text), source="input", batch_size=1000))
    return batch


def test_typed_columns_merged_keep_their_fallback() -> None:
    """Typed NDJSON columns (`ndjson_arrow`, whose batches decode their rows again to name a bad one) merged by
    the batcher: a nested value is named at its own request's line, as alone, not refused for the whole call."""
    import orjson
    import pyarrow.parquet as pq

    from flmcli.predictor import Predictor
    from flmcli.serve.batcher import Batcher
    from tests.helpers import DATA

    rows = pq.read_table(DATA).drop_columns(["Exited"]).slice(0, 12).to_pylist()

    def body(part: list[dict[str, Any]], bad_at: int | None) -> bytes:
        # One nested Age, the others null (which the model takes): Arrow reads every Age as a struct column.
        part = [dict(row, Age=None) for row in part]
        if bad_at is not None:
            part[bad_at]["Age"] = {"years": 40}
        return b"".join(orjson.dumps(row) + b"\n" for row in part)

    texts = [body(rows[:4], 2), body(rows[4:8], 0), body(rows[8:12], 3)]
    batches = [_ndjson_batch(text) for text in texts]
    assert all(batch.table is not None and batch.fallback is not None for batch in batches)
    predictor = Predictor.from_path(CHURN)

    async def main(merged: bool) -> list[Any]:
        batcher = Batcher(predictor)
        try:
            fresh = [_ndjson_batch(text) for text in texts]
            if merged:
                return list(await asyncio.gather(*(batcher.submit(b, "predict") for b in fresh),
                                                 return_exceptions=True))
            answers: list[Any] = []
            for batch in fresh:
                try:
                    answers.append(await batcher.submit(batch, "predict"))
                except InputError as error:
                    answers.append(error)
            return answers
        finally:
            await batcher.aclose()

    alone = [str(error) for error in asyncio.run(main(merged=False))]
    together = [str(error) for error in asyncio.run(main(merged=True))]
    assert alone == ["input:3: field 'Age': expected a scalar, got dict",
                     "input:1: field 'Age': expected a scalar, got dict",
                     "input:4: field 'Age': expected a scalar, got dict"]
    assert together == alone
