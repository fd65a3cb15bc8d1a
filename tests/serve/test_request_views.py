"""The per-request shortcuts of the hot routes give exactly what the general path gives.

- A small JSON body is parsed in one orjson call (`bodies.plain_json_batches`) into the batches the JSON reader
  makes of it, or left to the reader.
- A request's share of a merged model call is a view (`batcher.Part`): its JSON answer is written from the call's
  values, the same bytes as the JSON writer's on its sliced Scored; its v2 tensor is the same array.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from flmcli.batch import Batch
from flmcli.errors import InputError
from flmcli.serve import bodies

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "flm-corpus"
IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
DIABETES = CORPUS / "flama-2.2.2_diabetes-rf_zstd_p2.flm"
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3], [5.0, 3.4, 1.5, 0.2]]


def _reader(body: bytes, size: int) -> list[tuple[list[Any], int, Any]]:
    from flmcli import formats

    read = formats.reader("json")
    return [(b.records, b.first_row, b.lines)
            for b in read(io.BytesIO(body), source=bodies.SOURCE, batch_size=size, max_delay=None)]


TAKEN = [
    b'{"input": [[1, 2.5, "x", null, true]]}',
    b'{"input":[[1,2],[3,4],[5,6],[7,8],[9,10]]}',
    b'{"input": [{"a": 1, "b": "\\u00e9"}, {"a": 2}]}',
    b'\n  {\n  "input" : [\n [1, [2, 3], {"k": "v"}]\n ]\n}\n  ',
    b'{"input": [[18446744073709551615, -9223372036854775808, 1e300, -0.0]]}',
    b'{"input": [[18446744073709551616, 123456789012345678901234567890]]}',
    '{"input": [["caf\u00e9", "\U0001f600"]]}'.encode(),
]
LEFT = [
    b'[[1, 2]]',  # a bare array: the reader's
    b'{"input": [[1]], "input": [[2]]}',  # a key twice
    b'{"input": [["input"]]}',  # the key inside a string: counted twice, left to the reader
    b'{"x": 1, "input": [[1]]}',
    b'{"input": []}',
    b'{"input": [[1], 3]}',  # a bad row, kept in place by the reader
    b'{"input": [[1], null]}',
    b'{"input": [[1, 2]',
    b'{"input": [[NaN]]}',
    b'{"input": "rows"}',
    b'\xef\xbb\xbf{"input": [[1]]}',
    b"",
]


@pytest.mark.parametrize("body", TAKEN)
@pytest.mark.parametrize("size", [1, 2, 1024])
def test_one_pass_parse_gives_the_readers_batches(body: bytes, size: int) -> None:
    batches = bodies.plain_json_batches(body, size)
    assert batches is not None
    assert [(b.records, b.first_row, b.lines) for b in batches] == _reader(body, size)
    assert bodies.json_batches(body, size)[0].records == batches[0].records


@pytest.mark.parametrize("body", LEFT)
def test_anything_else_is_left_to_the_reader(body: bytes) -> None:
    assert bodies.plain_json_batches(body, 1024) is None


def test_bad_bodies_are_still_named_by_the_reader() -> None:
    with pytest.raises(InputError, match="missing field"):
        bodies.json_batches(b"{}", 16)
    # a bad row stays a row: the reader keeps it in place for the predictor to name
    batch, = bodies.json_batches(b'{"input": [[1], 3]}', 16)
    assert len(batch) == 2


def _parts(path: Path, requests: list[list[Any]], methods: tuple[str, ...], **settings: Any) -> list[Any]:
    """Each request's Parts, the requests queued together so that they share model calls."""
    from flmcli.predictor import Predictor
    from flmcli.serve.batcher import Batcher

    predictor = Predictor.from_path(path)

    async def main() -> list[Any]:
        batcher = Batcher(predictor, **settings)
        try:
            return list(await asyncio.gather(*(batcher.submit_parts(Batch(source="input", records=rows), methods)
                                               for rows in requests)))
        finally:
            await batcher.aclose()

    return asyncio.run(main())


@pytest.mark.parametrize("path, methods", [(IRIS, ("predict", "predict_proba", "decision_function")),
                                           (DIABETES, ("predict",))])
@pytest.mark.parametrize("max_batch_size", [1024, 3])
def test_views_answer_what_the_sliced_scored_rows_answer(path: Path, methods: tuple[str, ...],
                                                         max_batch_size: int) -> None:
    from flmcli.serve.app import _flama_json
    from flmcli.serve.v2 import _values

    width = 4 if path == IRIS else 10
    rows = [[float(i + j) / 3 for j in range(width)] for i in range(7)]
    requests = [rows[:1], rows[1:4], rows[4:5], rows[5:7], rows[:3]]
    got = _parts(path, requests, methods, max_batch_size=max_batch_size)
    assert len(got) == len(requests)
    for parts, rows_sent in zip(got, requests):
        assert len(parts) == len(methods)
        for part in parts:
            scored = part.scored()
            assert len(scored.batch) == len(rows_sent) == part.length
            assert scored.batch.records == rows_sent
            assert part.bare() is not None
            assert _flama_json([part]) == b"".join(bodies.flama_json([scored]))
            assert np.array_equal(_values([part]), scored.outputs.to_numpy())
            assert _values([part]).dtype == scored.outputs.to_numpy().dtype
        # several batches of one request, joined
        both = [parts[0], parts[0]]
        assert _flama_json(both) == b"".join(bodies.flama_json([p.scored() for p in both]))


def test_a_bad_row_fails_only_its_own_request() -> None:
    requests = [IRIS_ROWS[:2], [[1.0, "x", 2.0, 3.0]], IRIS_ROWS[2:]]
    from flmcli.predictor import Predictor
    from flmcli.serve.batcher import Batcher

    predictor = Predictor.from_path(IRIS)

    async def main() -> list[Any]:
        batcher = Batcher(predictor)
        try:
            return list(await asyncio.gather(
                *(batcher.submit_parts(Batch(source="input", records=rows), ("predict", "predict_proba"))
                  for rows in requests), return_exceptions=True))
        finally:
            await batcher.aclose()

    first, bad, last = asyncio.run(main())
    assert isinstance(bad, InputError) and "input:1" in str(bad)
    assert [p.length for p in first] == [2, 2] and [p.length for p in last] == [2, 2]
    assert first[0].bare() == predictor.call(np.array(IRIS_ROWS[:2]), "predict").tolist()


@pytest.fixture()
def labelled(tmp_path: Path) -> Path:
    """A classifier whose labels are strings: its outputs are not numbers, so the JSON writer encodes them."""
    from sklearn.linear_model import LogisticRegression

    import flmcli

    X = np.array(IRIS_ROWS * 3)
    y = np.array(["setosa", "versicolor", "virginica", "setosa"] * 3)
    path = tmp_path / "labels.flm"
    flmcli.dump(LogisticRegression(max_iter=500).fit(X, y), path)
    return path


def test_text_outputs_take_the_writers_path(labelled: Path) -> None:
    from flmcli.predictor import Predictor
    from flmcli.serve import create_app

    parts = _parts(labelled, [IRIS_ROWS[:2], IRIS_ROWS[2:]], ("predict",))
    assert all(part.bare() is None for found in parts for part in found)
    predictor = Predictor.from_path(labelled)
    expected = predictor.call(np.array(IRIS_ROWS), "predict").tolist()
    with TestClient(create_app(predictor)) as client:
        response = client.post("/predict/", content=json.dumps({"input": IRIS_ROWS}))
        assert response.status_code == 200
        assert response.json() == {"output": expected}
        response = client.post("/v2/models/model/infer", json={
            "inputs": [{"name": "x", "datatype": "FP64", "shape": [4, 4], "data": IRIS_ROWS}],
            "outputs": [{"name": "predict"}]})
        assert response.status_code == 200, response.text
        assert response.json()["outputs"][0]["data"] == expected


def test_the_routes_answer_as_before_for_many_rows_and_several_batches() -> None:
    """A request bigger than a batch (several model calls) and one of a single row, through both routes."""
    from flmcli.predictor import Predictor
    from flmcli.serve import create_app

    predictor = Predictor.from_path(IRIS)
    rows = [[float(i % 7) + 0.5, 3.0, float(i % 5), 0.2] for i in range(50)]
    proba = predictor.call(np.array(rows), "predict_proba")
    with TestClient(create_app(predictor, max_batch_size=8)) as client:
        for sent in (rows, rows[:1]):
            response = client.post("/predict_proba/", content=json.dumps({"input": sent}))
            assert response.status_code == 200
            assert response.content == b"".join(bodies.flama_json(
                [predictor.score(Batch(source="input", records=sent), method="predict_proba")]))
            response = client.post("/v2/models/model/infer", json={
                "inputs": [{"name": "x", "datatype": "FP64", "shape": [len(sent), 4], "data": sent}],
                "outputs": [{"name": "predict_proba"}]})
            assert response.status_code == 200, response.text
            assert np.allclose(np.array(response.json()["outputs"][0]["data"]).reshape(len(sent), 3),
                               proba[: len(sent)], rtol=0, atol=0)
