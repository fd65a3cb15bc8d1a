"""NDJSON lines built from whole numeric columns are byte for byte what orjson writes for one dict per row."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest

from flmcli.formats.numeric_lines import numeric_lines


def one_dict_per_row(frame: pd.DataFrame) -> bytes:
    names = [str(n) for n in frame.columns]
    columns = [frame.iloc[:, i].tolist() for i in range(frame.shape[1])]
    return b"".join(orjson.dumps(dict(zip(names, values))) + b"\n" for values in zip(*columns))


def awkward_floats(rng: np.random.Generator, n: int) -> np.ndarray:
    special = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300, 5e-324, 1.7976931348623157e308, 0.1, 1 / 3,
                        1e16, 1e-7, 123456789.123456789, 2.0**53, -2.5e-5])
    values = np.concatenate([special, rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, n)])
    return values


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_floats(dtype: str) -> None:
    rng = np.random.default_rng(11)
    with np.errstate(over="ignore"):  # large values become infinities in the narrow types: fine, also a case
        values = awkward_floats(rng, 5000).astype(dtype)
    frame = pd.DataFrame({"prediction": values, "1": values[::-1].copy()})
    assert numeric_lines(frame) == one_dict_per_row(frame)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint64", "int8", "bool"])
def test_integers_and_booleans(dtype: str) -> None:
    rng = np.random.default_rng(12)
    if dtype == "bool":
        values = rng.integers(0, 2, 3000).astype(bool)
    else:
        info = np.iinfo(dtype)
        edges = np.array([info.min, info.max, 0], dtype=dtype)
        values = np.concatenate([edges, rng.integers(info.min, info.max, 3000, dtype=dtype)])
    frame = pd.DataFrame({"prediction": values})
    assert numeric_lines(frame) == one_dict_per_row(frame)


def test_class_names_that_need_escaping() -> None:
    frame = pd.DataFrame(np.arange(12.0).reshape(4, 3) / 7, columns=['a "quoted", name', "é\n", "0"])
    assert numeric_lines(frame) == one_dict_per_row(frame)


def test_not_numeric_or_empty_is_left_to_the_row_encoder() -> None:
    assert numeric_lines(pd.DataFrame({"prediction": ["setosa", "virginica"]})) is None
    assert numeric_lines(pd.DataFrame({"prediction": np.array([], dtype=float)})) is None
    assert numeric_lines(pd.DataFrame([[1, 2]], columns=["a", "a"])) is None
