"""CSV rows of whole-number outputs made by orjson from the outputs' array (csv_format.whole_numbers) are byte for
byte what pyarrow's CSVWriter writes for the same batches; anything else is left to the CSVWriter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flmcli.batch import Batch, Scored
from flmcli.formats import csv_format, tsv_format
from flmcli.formats.csv_format import whole_numbers


def scored(values: np.ndarray, names: list[str], **extra: Any) -> Scored:
    array = values.reshape(len(values), values.shape[1] if values.ndim == 2 else 1)
    return Scored(batch=Batch(source="rows.csv", records=[{}] * len(values)),
                  outputs=pd.DataFrame(array, columns=names, copy=False), array=array, **extra)


def encoded(module: Any, batches: list[Scored], monkeypatch: pytest.MonkeyPatch, *, direct: bool) -> bytes:
    with monkeypatch.context() as patch:
        if not direct:
            patch.setattr(csv_format, "whole_numbers", lambda *args, **kwargs: None)
        return b"".join(module.encode(iter(batches)))


def edges(dtype: str, rng: np.random.Generator) -> np.ndarray:
    if dtype == "bool":
        return rng.integers(0, 2, 3000).astype(bool)
    info = np.iinfo(dtype)
    return np.concatenate([np.array([info.min, info.max, 0], dtype=dtype),
                           rng.integers(info.min, info.max, 3000, dtype=dtype)])


@pytest.mark.parametrize("module", [csv_format, tsv_format], ids=["csv", "tsv"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint64", "uint8", "bool"])
def test_same_bytes_as_the_csv_writer(module: Any, dtype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    batches = [scored(edges(dtype, rng), ["prediction"]) for _ in range(3)]
    assert whole_numbers(batches[0]) is not None
    direct = encoded(module, batches, monkeypatch, direct=True)
    assert direct == encoded(module, batches, monkeypatch, direct=False)
    assert direct.startswith(b"prediction\n")


@pytest.mark.parametrize("module", [csv_format, tsv_format], ids=["csv", "tsv"])
@pytest.mark.parametrize("name", ['a "quoted", name', "tab\there", "0"])
def test_a_name_that_needs_quotes(module: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    batches = [scored(np.arange(-30, 30, dtype=np.int64), [name])] * 2
    assert whole_numbers(batches[0]) is not None
    assert encoded(module, batches, monkeypatch, direct=True) == encoded(module, batches, monkeypatch, direct=False)


def test_several_columns_are_left_to_the_csv_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.arange(-30, 30, dtype=np.int64).reshape(20, 3)
    batches = [scored(values, ["a", "b", "c"])]
    assert whole_numbers(batches[0]) is None
    assert encoded(csv_format, batches, monkeypatch, direct=True).startswith(b"a,b,c\n-30,-29,-28\n")


def test_a_batch_of_other_outputs_between_whole_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch is written with its own types: floats (CSVWriter) between integers (orjson), the header once."""
    ints = scored(np.array([1, 0, 1]), ["prediction"])
    floats = scored(np.array([0.5, 1e-7, np.nan]), ["prediction"])
    batches = [ints, floats, ints, scored(np.array([], dtype=np.int64), ["prediction"]), ints]
    direct = encoded(csv_format, batches, monkeypatch, direct=True)
    assert direct == encoded(csv_format, batches, monkeypatch, direct=False)
    assert direct.count(b"prediction") == 1


def test_left_to_the_csv_writer() -> None:
    assert whole_numbers(scored(np.array([0.5, 1.0]), ["prediction"])) is None  # floats: pyarrow's own text
    assert whole_numbers(scored(np.array(["a", "b"], dtype=object), ["prediction"])) is None
    assert whole_numbers(scored(np.array([], dtype=np.int64), ["prediction"])) is None
    assert whole_numbers(scored(np.array([[1, 2]]), ["a", "a"])) is None  # one name twice
    assert whole_numbers(scored(np.array([1, 2]), ["p"], errors=[None, None])) is None  # an error column
    assert whole_numbers(scored(np.array([1, 2]), ["p"], keep=[True, False])) is None  # a row dropped
    no_array = scored(np.array([1, 2]), ["p"])
    no_array.array = None
    assert whole_numbers(no_array) is None


def test_kept_input_goes_through_tables() -> None:
    """With input columns kept, rows are made from tables: whole_numbers is not asked."""
    asked: list[Scored] = []

    def recording(item: Scored, delimiter: str = ",") -> Any:
        asked.append(item)
        return whole_numbers(item, delimiter)

    batch = Batch(source="rows.csv", records=[{"id": 1}, {"id": 2}])
    item = Scored(batch=batch, outputs=pd.DataFrame({"prediction": [1, 0]}),
                  array=np.array([[1], [0]]))

    def batches() -> Iterator[Scored]:
        yield item

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_format, "whole_numbers", recording)
        assert b"".join(csv_format.encode(batches(), keep_input=True)) == b"id,prediction\n1,1\n2,0\n"
    assert asked == []
