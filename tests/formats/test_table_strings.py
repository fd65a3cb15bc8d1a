"""String columns of a columnar batch (CSV, TSV, Parquet, Arrow) reach the model as Python strings, one object per
distinct value, and the outputs are the bytes the model gave on the frame pandas builds (Arrow-backed strings)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import flmcli.features
import flmcli.flm
from flmcli.batch import Batch
from flmcli.cli import cli
from flmcli.features import FeatureSpec, from_table
from tests.helpers import CHURN, DATA

OUTPUTS = ("ndjson", "csv", "parquet", "arrow")
SPEC = FeatureSpec(names=("name", "n", "city"), width=3, by_name=True)


def test_plain_string_columns_become_shared_python_strings() -> None:
    city = pa.chunked_array([pa.array(["Paris", "Lyon", "Paris"]), pa.array(["Lyon", "Paris"])])
    table = pa.table({"name": pa.array(["a", "b", "a", "c", "b"], type=pa.large_string()),
                      "n": [1, 2, 3, 4, 5], "city": city})
    frame = from_table(Batch(source="t", table=table), SPEC)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["name", "n", "city"]
    assert [str(t) for t in frame.dtypes] == ["object", "int64", "object"]
    assert frame["city"].tolist() == ["Paris", "Lyon", "Paris", "Lyon", "Paris"]
    assert frame["name"].tolist() == ["a", "b", "a", "c", "b"]
    assert len({id(value) for value in frame["city"]}) == 2  # one object per distinct value, across chunks


def test_string_columns_with_nulls_stay_as_pandas_builds_them() -> None:
    table = pa.table({"name": ["a", None, "b"], "n": [1, None, 3], "city": ["x", "y", "z"]})
    frame = from_table(Batch(source="t", table=table), SPEC)
    assert isinstance(frame, pd.DataFrame)
    before = table.to_pandas()
    assert frame["name"].dtype == before["name"].dtype != object
    assert pd.isna(frame["name"].iloc[1]) and frame["name"].iloc[1] is not None  # NaN to the model, as before
    assert frame["n"].dtype == before["n"].dtype
    assert frame["city"].dtype == object


def test_columns_chosen_and_ordered_by_the_model() -> None:
    table = pa.table({"city": ["x", "y"], "extra": ["p", "q"], "n": [1, 2], "name": ["a", "b"]})
    frame = from_table(Batch(source="t", table=table), SPEC)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["name", "n", "city"]
    assert frame.values.tolist() == [["a", 1, "x"], ["b", 2, "y"]]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Churn rows as CSV, TSV, Parquet and Arrow: plain; a Parquet file with null strings; a CSV with a value the
    model refuses in a numeric column (which then reads as strings)."""
    folder = tmp_path_factory.mktemp("strings")
    table = pq.read_table(DATA).slice(0, 3000)
    made = {}
    made["csv"] = folder / "rows.csv"
    pacsv.write_csv(table, made["csv"])
    made["tsv"] = folder / "rows.tsv"
    pacsv.write_csv(table, made["tsv"], pacsv.WriteOptions(delimiter="\t"))
    made["parquet"] = folder / "rows.parquet"
    pq.write_table(table, made["parquet"])
    made["arrow"] = folder / "rows.arrow"
    with pa.ipc.new_file(made["arrow"], table.schema) as writer:
        writer.write_table(table)
    geography = table.column("Geography").to_pylist()
    geography[5] = geography[2000] = None
    nulls = table.set_column(table.schema.get_field_index("Geography"), "Geography", pa.array(geography))
    made["nulls.parquet"] = folder / "nulls.parquet"
    pq.write_table(nulls, made["nulls.parquet"])
    lines = made["csv"].read_text().splitlines()
    cells = lines[7].split(",")
    cells[3] = "seven hundred"  # CreditScore
    lines[7] = ",".join(cells)
    made["refused.csv"] = folder / "refused.csv"
    made["refused.csv"].write_text("\n".join(lines) + "\n")
    return made


@pytest.fixture(autouse=True, scope="module")
def _load_once() -> Iterator[None]:
    original = flmcli.flm.load
    cached = functools.cache(lambda path, trust, trust_all: original(path, trust=trust, trust_all=trust_all))
    flmcli.flm.load = lambda path, *, trust=(), trust_all=False: cached(path, tuple(trust), trust_all)
    yield
    flmcli.flm.load = original


def _predict(args: list[str], *, pandas_strings: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes, str]:
    with monkeypatch.context() as patch:
        if pandas_strings:  # the frame as pandas builds it: what every columnar input gave the model before
            patch.setattr(flmcli.features, "_object_strings", lambda table, frame, *dictionaries: frame)
        result = CliRunner().invoke(cli, ["predict", str(CHURN), *args], catch_exceptions=False)
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.mark.parametrize("name", ["csv", "tsv", "parquet", "arrow", "nulls.parquet", "refused.csv"])
@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("on_error", ["fail", "null"])
def test_same_bytes_as_the_frame_pandas_builds(
    inputs: dict[str, Path], name: str, out: str, on_error: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = [str(inputs[name]), "--to", out, "--on-error", on_error, "--batch-size", "1024"]
    now: Any = _predict(args, pandas_strings=False, monkeypatch=monkeypatch)
    before = _predict(args, pandas_strings=True, monkeypatch=monkeypatch)
    assert now == before
    if name == "refused.csv":
        assert now[0] == (1 if on_error == "fail" else 0)
        # under "null" the message is the row's `error` field (in the output; Parquet and Arrow compress it)
        told = now[2] if on_error == "fail" else now[1].decode(errors="replace")
        if on_error == "fail" or out in ("ndjson", "csv"):
            assert "refused.csv:8:" in told and "CreditScore" in told and "seven hundred" in told
    else:
        assert now[0] == 0 and now[1]
