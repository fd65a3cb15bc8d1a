"""A v2 request of more than a few rows stays the object matrix of its columns (serve/columns.py): the model takes
it as its input, no Python list is made per row unless the model refuses the batch, and the answers and errors
are the ones `/predict/` gives for the same rows."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from flmcli import features
from flmcli.predictor import Predictor
from flmcli.serve import columns, create_app, v2
from flmcli.serve.batcher import INLINE_ROWS, Batcher
from flmcli.serve.models import ServedModel
from tests.helpers import CHURN, CORPUS, DATA
from tests.serve.test_config import post

POSITIONAL_CHURN = CORPUS / "flama-2.2.2_churn_zstd_p2.flm"
IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
DIABETES = CORPUS / "flama-2.2.2_diabetes-rf_zstd_p2.flm"


@functools.cache
def churn_rows(n: int) -> list[list[Any]]:
    """Real churn rows, numbers as floats (as a v2 FP64 tensor carries them, so both routes send the same values)."""
    import pyarrow.parquet as pq

    table = pq.read_table(DATA).drop_columns(["Exited"]).slice(0, n)
    return [[value if isinstance(value, str) else float(value) for value in row.values()] for row in table.to_pylist()]


def rows_for(path: Path, n: int) -> list[list[Any]]:
    width = Predictor.from_path(path).spec.expected
    if width == 13:
        return churn_rows(n)
    return np.random.default_rng(n).normal(size=(n, width or 4)).round(3).tolist()


def v2_body(predictor: Predictor, rows: list[list[Any]], outputs: list[str] | None = None) -> dict[str, Any]:
    """One tensor per column, named as the model names its features (else input-i), FP64 or BYTES."""
    names = predictor.spec.names or [f"input-{i}" for i in range(len(rows[0]))]
    inputs = []
    for name, values in zip(names, zip(*rows)):
        datatype = "BYTES" if isinstance(values[0], str) else "FP64"
        inputs.append({"name": name, "datatype": datatype, "shape": [len(values)], "data": list(values)})
    body: dict[str, Any] = {"inputs": inputs}
    if outputs is not None:
        body["outputs"] = [{"name": name} for name in outputs]
    return body


@pytest.mark.parametrize("path", [CHURN, POSITIONAL_CHURN, IRIS, DIABETES], ids=lambda p: p.name)
@pytest.mark.parametrize("n, batch", [(INLINE_ROWS, 1024), (INLINE_ROWS + 1, 1024), (300, 1024), (300, 64)])
def test_the_answers_are_those_of_predict_for_the_same_rows(path: Path, n: int, batch: int) -> None:
    predictor = Predictor.from_path(path)
    rows = rows_for(path, n)
    app = create_app({"m": predictor}, max_batch_size=batch)
    response = post(app, "/v2/models/m/infer", json=v2_body(predictor, rows))
    assert response.status_code == 200, response.text
    outputs = response.json()["outputs"]
    assert [output["name"] for output in outputs] == predictor.methods()
    for output in outputs:
        expected = post(app, f"/{output['name']}/", json={"input": rows}).json()["output"]
        assert output["data"] == np.array(expected).ravel().tolist(), output["name"]
        assert output["shape"][0] == n


def counted(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    calls = [0]
    real = getattr(module, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_a_large_request_makes_no_row_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 rows: the model input is made of the column matrix (model_input), not of rows (features.matrix,
    which a `/predict/` body's rows take), and the rows are never made as lists (columns._rows)."""
    predictor = Predictor.from_path(POSITIONAL_CHURN)
    app = create_app({"churn": predictor})
    from_rows = counted(monkeypatch, features, "matrix")
    from_matrix = counted(monkeypatch, features, "model_input")
    as_lists = counted(monkeypatch, columns, "_rows")
    response = post(app, "/v2/models/churn/infer", json=v2_body(predictor, churn_rows(1000), ["predict"]))
    assert response.status_code == 200, response.text
    assert (from_rows[0], from_matrix[0], as_lists[0]) == (0, 1, 0)
    # A few rows stay row lists (they may be scored on the event loop, in one model call).
    response = post(app, "/v2/models/churn/infer", json=v2_body(predictor, churn_rows(INLINE_ROWS), ["predict"]))
    assert response.status_code == 200, response.text
    assert (from_rows[0], as_lists[0]) == (1, 0)


@pytest.mark.parametrize("path", [CHURN, POSITIONAL_CHURN], ids=lambda p: p.name)
def test_a_bad_value_is_named_as_predict_names_it(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = Predictor.from_path(path)
    rows = [list(row) for row in churn_rows(40)]
    rows[22][3] = "x"  # CreditScore: text where the model needs a number, in row 23
    # A BYTES column for a number feature is refused whole (tests/serve/test_v2_strict_datatypes.py); a row of
    # mixed types as text is one 2-D BYTES tensor, which the rows then hold as text (as a CSV's).
    rows = [[str(value) for value in row] for row in rows]  # what the v2 request holds
    body = {"inputs": [{"name": "input-0", "datatype": "BYTES", "shape": [len(rows), len(rows[0])],
                        "data": [value for row in rows for value in row]}]}
    app = create_app({"churn": predictor})
    as_lists = counted(monkeypatch, columns, "_rows")
    for outputs in (["predict"], None):
        response = post(app, "/v2/models/churn/infer", json={**body, **({"outputs": [{"name": "predict"}]}
                                                                          if outputs else {})})
        expected = post(app, "/predict/", json={"input": rows})
        assert response.status_code == expected.status_code == 400
        assert response.json() == expected.json()
        error = response.json()["error"]
        assert "input:23" in error and ("CreditScore" if predictor.spec.names else "#3") in error, error
    assert as_lists[0] >= 2  # the rows were made to find the bad one, once per request


def test_concurrent_requests_share_one_model_call_and_fail_alone() -> None:
    """Three column requests queued together are scored in one model call (their matrices concatenated); the one
    with a bad row gets its own error, numbered within its own rows, and the others their answers."""
    predictor = Predictor.from_path(POSITIONAL_CHURN)
    calls: list[tuple[int, int]] = []
    served = ServedModel("churn", predictor, Batcher(predictor, observe=lambda rows, requests: calls.append(
        (rows, requests))))
    good = [churn_rows(300)[:40], churn_rows(300)[100:160]]
    bad = [[str(value) for value in row] for row in churn_rows(300)[200:230]]  # rows as text: one BYTES tensor
    bad[4][6] = "old"  # Age, which the model cannot read as a number, in row 5 of its request
    bad_body = {"inputs": [{"name": "input-0", "datatype": "BYTES", "shape": [len(bad), len(bad[0])],
                            "data": [value for row in bad for value in row]}], "outputs": [{"name": "predict"}]}
    bodies = [orjson.dumps(body) for body in (v2_body(predictor, good[0], ["predict"]), bad_body,
                                              v2_body(predictor, good[1], ["predict"]))]

    async def send_all() -> list[Any]:
        try:
            return await asyncio.gather(*(v2.infer_answer(served, body, None) for body in bodies),
                                        return_exceptions=True)
        finally:
            await served.batcher.aclose()

    first, failed, second = asyncio.run(send_all())
    assert calls[0] == (130, 3)
    for response, rows in ((first, good[0]), (second, good[1])):
        expected = predictor.call(np.array(rows, dtype=object), "predict").tolist()
        assert json.loads(response.body)["outputs"][0]["data"] == expected
    assert "input:5" in str(failed) and "#6" in str(failed)


@pytest.fixture()
def labelled(tmp_path: Path) -> Path:
    """A classifier whose labels are strings: its outputs are not numbers, so v2 takes them from Scored slices."""
    from sklearn.linear_model import LogisticRegression

    import flmcli

    X = np.random.default_rng(3).normal(size=(60, 4))
    y = np.array(["setosa", "versicolor", "virginica"] * 20)
    path = tmp_path / "labels.flm"
    flmcli.dump(LogisticRegression(max_iter=500).fit(X, y), path)
    return path


def test_text_labels_of_merged_column_requests(labelled: Path) -> None:
    predictor = Predictor.from_path(labelled)
    served = ServedModel("labels", predictor, Batcher(predictor))
    requests = [np.random.default_rng(seed).normal(size=(n, 4)).tolist() for seed, n in ((1, 30), (2, 45))]
    bodies = [orjson.dumps(v2_body(predictor, rows, ["predict"])) for rows in requests]

    async def send_all() -> list[Any]:
        try:
            return await asyncio.gather(*(v2.infer_answer(served, body, None) for body in bodies))
        finally:
            await served.batcher.aclose()

    for response, rows in zip(asyncio.run(send_all()), requests):
        output = json.loads(response.body)["outputs"][0]
        assert output["datatype"] == "BYTES"
        assert output["data"] == predictor.call(np.array(rows), "predict").tolist()


def test_matrices_of_other_widths_are_not_merged() -> None:
    """Two requests whose matrices differ in width (possible for a model that does not say how many features it
    takes) are scored apart: each gets its own answer or error, not one error for both from the concatenation."""
    predictor = Predictor.from_path(IRIS)
    served = ServedModel("iris", predictor, Batcher(predictor))
    good, narrow = rows_for(IRIS, 30), [row[:3] for row in rows_for(IRIS, 30)]

    async def send_all() -> list[Any]:
        try:
            return await asyncio.gather(*(served.batcher.submit_parts(
                columns.batches(np.array(rows, dtype=object), "input", 1024)[0], ("predict",)) for rows in (good, narrow)),
                return_exceptions=True)
        finally:
            await served.batcher.aclose()

    answered, refused = asyncio.run(send_all())
    assert answered[0].array()[:, 0].tolist() == predictor.call(np.array(good, dtype=object), "predict").tolist()
    assert str(refused) == "input:1: expected 4 values, got 3"
