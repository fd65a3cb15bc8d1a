"""v2 requests of one row each, merged by the batcher into one model call, each get their own outputs: a model
whose predict_proba is a transposed (Fortran-ordered) array, as scikit-learn's binary LogisticRegression returns,
gave each one-row request a strided view of that array, which orjson refuses ('numpy array is not C contiguous'):
a 500 for every merged v2 request asking for predict_proba, under any concurrent load."""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, DATA
from tests.serve.test_merged_table_bodies import merged_and_alone

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
    rows = pq.read_table(DATA).drop_columns(["Exited"]).slice(0, 6).to_pylist()
    posts = [("/v2/models/model/infer", *_body([row], binary)) for row in rows]
    # one method (Predictor.call) for a body too big for the event loop: its call goes to the model's thread
    blocker = ("/v2/models/model/infer", *_body(rows * 200, False, both=False))
    alone, together, merges = merged_and_alone(CHURN, posts, blocker)
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
