"""Row-format writers read a batch's numeric outputs from the array the output frame wraps (Scored.array),
not column by column through pandas. The values must be the frame's own, kind for kind: integers stay
integers, floats keep every bit, booleans stay booleans, failed rows become null, and a slice reads its own
rows; what the array cannot give as the frame does (text, objects) is read from the frame."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from flmcli.batch import Batch, Scored
from flmcli.formats import records
from flmcli.predictor import Predictor
from tests.helpers import CHURN


def through_frame(scored: Scored) -> tuple[list[str], list[list[object]]]:
    return records.output_columns(Scored(batch=scored.batch, outputs=scored.outputs, errors=scored.errors,
                                         keep=scored.keep, flat=scored.flat, failures=scored.failures))


def same(a: list[list[object]], b: list[list[object]]) -> bool:
    def key(value: object) -> object:
        if isinstance(value, float) and math.isnan(value):
            return ("nan",)
        return (type(value), value)

    return [[key(v) for v in column] for column in a] == [[key(v) for v in column] for column in b]


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_path(CHURN)


@pytest.mark.parametrize(
    "y",
    [
        np.array([0, 1, -5, 2**62]),
        np.array([0, 1, 255], dtype=np.uint8),
        np.array([2**64 - 1, 0], dtype=np.uint64),
        np.array([1, -2], dtype=np.int32),
        np.array([0.1, -0.0, np.nan, np.inf, 1e308]),
        np.array([0.1, 3.4e38, np.nan], dtype=np.float32),
        np.array([0.5, 65504.0], dtype=np.float16),
        np.array([True, False]),
        np.array([[0.2, 0.8], [1.0, 0.0], [np.nan, 0.3]]),
        np.array([[1, 2, 3]], dtype=np.int16),
        np.array(["yes", "no"], dtype=object),
        np.array([1, "a", None], dtype=object),
    ],
    ids=lambda y: f"{y.dtype}{list(y.shape)}",
)
def test_outputs_read_from_the_array_are_the_frames(predictor: Predictor, y: np.ndarray) -> None:
    batch = Batch(source="x", records=[[0]] * len(y))
    scored = predictor._assemble(batch, list(range(len(y))), y, {}, "predict")
    assert scored.array is not None and scored.array.shape[0] == len(y)
    names, columns = records.output_columns(scored)
    frame_names, frame_columns = through_frame(scored)
    assert names == frame_names and same(columns, frame_columns)
    # what a server answer holds, byte for byte
    assert orjson.dumps(records.bare_values(scored)) == orjson.dumps(records.bare_values(
        Scored(batch=scored.batch, outputs=scored.outputs, flat=scored.flat)))


def test_a_slice_reads_its_own_rows_and_failed_rows_are_null(predictor: Predictor) -> None:
    y = np.arange(10, dtype=np.int64) * 10
    batch = Batch(source="x", records=[[0]] * 10)
    scored = predictor._assemble(batch, list(range(10)), y, {}, "predict")
    scored.errors = [None] * 10
    scored.errors[4] = "bad row"
    part = scored.slice(3, 4)
    assert part.array is not None and part.array.ravel().tolist() == [30, 40, 50, 60]
    _, columns = records.output_columns(part)
    assert columns == [[30, None, 50, 60]] == through_frame(part)[1]
