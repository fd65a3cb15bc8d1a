"""v2 requests of one row each, merged by the batcher into one model call, each get their own outputs: a model
whose predict_proba is a transposed (Fortran-ordered) array, as scikit-learn's binary LogisticRegression returns,
gave each one-row request a strided view of that array, which orjson refuses ('numpy array is not C contiguous'):
a 500 for every merged v2 request asking for predict_proba, under any concurrent load."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, DATA

FEATURES = {"Geography": "BYTES", "Gender": "BYTES"}


def _body(rows: list[dict[str, Any]], binary: bool, both: bool = True) -> tuple[bytes, dict[str, str]]:
    names = ["CreditScore", "Geography", "Gender", "Age", "Tenure", "Balance", "NumOfProducts", "HasCrCard",
             "IsActiveMember", "EstimatedSalary"]
    inputs = [{"name": name, "datatype": FEATURES.get(name, "FP64"), "shape": [len(rows)],
               "data": [row[name] if name in FEATURES else float(row[name]) for row in rows]} for name in names]
    outputs = [{"name": "predict_proba", "parameters": {"binary_data": binary}}, {"name": "predict"}][: 2 if both else 1]
    return orjson.dumps({"inputs": inputs, "outputs": outputs}), {"content-type": "application/json"}


@pytest.mark.parametrize("binary", [False, True])
def test_one_row_requests_merged_into_one_call_each_get_their_outputs(binary: bool) -> None:
    import httpx

    from flmcli.predictor import Predictor
    from flmcli.serve import batcher as batcher_module
    from flmcli.serve.app import create_app

    rows = pq.read_table(DATA).drop_columns(["Exited"]).slice(0, 6).to_pylist()
    predictor = Predictor.from_path(CHURN)
    gate, busy = threading.Event(), threading.Event()
    call = predictor.call

    def held(X: Any, method: str | None = None) -> Any:
        if threading.current_thread() is not threading.main_thread() and not gate.is_set():
            busy.set()
            gate.wait(30)
        return call(X, method)

    predictor.call = held  # type: ignore[method-assign]
    gate.set()
    merges: list[int] = []
    note = batcher_module.Batcher._note

    def noted(self: Any, rows: int, requests: int) -> None:
        merges.append(requests)
        note(self, rows, requests)

    app = create_app(predictor)

    async def post(client: Any, body: tuple[bytes, dict[str, str]]) -> tuple[int, bytes]:
        answer = await client.post("/v2/models/model/infer", content=body[0], headers=body[1])
        return answer.status_code, answer.content

    async def main() -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            alone = [await post(client, _body([row], binary)) for row in rows]
            merges.clear()
            gate.clear()
            # a body too big for the event loop: its call (one method: Predictor.call) goes to the model's thread,
            # and holds it
            blocker = asyncio.create_task(post(client, _body(rows * 200, False, both=False)))
            for _ in range(3000):
                if busy.is_set():
                    break
                await asyncio.sleep(0.01)
            assert busy.is_set()
            tasks = [asyncio.create_task(post(client, _body([row], binary))) for row in rows]
            await asyncio.sleep(0.5)  # all queued behind the held call
            gate.set()
            together = list(await asyncio.gather(*tasks))
            assert (await blocker)[0] == 200
            return alone, together

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batcher_module.Batcher, "_note", noted)
        alone, together = asyncio.run(main())
    assert max(merges) > 1  # some were scored in one call
    assert [status for status, _ in together] == [200] * len(rows), together
    for (_, one), (_, merged) in zip(alone, together):
        assert _outputs(one, binary) == pytest.approx(_outputs(merged, binary), rel=1e-12)


def _outputs(content: bytes, binary: bool) -> list[float]:
    import numpy as np

    if not binary:
        answer = orjson.loads(content)
        return [float(v) for output in answer["outputs"] for v in output["data"]]
    end = content.index(b"}]}") + 3
    answer = orjson.loads(content[:end])
    proba = np.frombuffer(content[end:end + 16], dtype="<f8").tolist()
    return proba + [float(v) for v in answer["outputs"][1]["data"]]
