"""Parquet text columns reach the model's frame from the dictionaries they were read as: each used entry becomes a
Python string once, without hashing every value again, and the frame (and so every output byte) is the one the
decoded strings give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import flmcli.features
from flmcli.batch import Batch
from flmcli.features import FeatureSpec, from_table
from flmcli.formats import parquet_format, parquet_strings
from tests.helpers import CHURN, DATA, invoke

SPEC = FeatureSpec(names=("city", "n"), width=2, by_name=True)


def _dense_and_encoded(chunks: list[pa.DictionaryArray]) -> tuple[pa.Table, dict[str, pa.ChunkedArray]]:
    encoded = pa.chunked_array(chunks)
    dense = encoded.cast(pa.string())
    n = pa.chunked_array([pa.array(np.arange(len(c))) for c in chunks])
    return pa.table({"city": dense, "n": n}), {"city": encoded}


def test_the_frame_from_dictionaries_is_the_frame_from_decoded_strings() -> None:
    """Chunks with dictionaries of their own, entries in another order, unused entries."""
    chunks = [
        pa.DictionaryArray.from_arrays(pa.array([0, 1, 0, 0], pa.int32()), pa.array(["Paris", "Lyon", "unused"])),
        pa.DictionaryArray.from_arrays(pa.array([1, 1, 0], pa.int32()), pa.array(["Lyon", "Paris"])),
    ]
    table, dictionaries = _dense_and_encoded(chunks)
    taken = from_table(Batch(source="t", table=table, dictionaries=dictionaries), SPEC)
    hashed = from_table(Batch(source="t", table=table), SPEC)
    assert isinstance(taken, pd.DataFrame) and isinstance(hashed, pd.DataFrame)
    pd.testing.assert_frame_equal(taken, hashed)
    assert taken["city"].dtype == object
    assert taken["city"].tolist() == ["Paris", "Lyon", "Paris", "Paris", "Paris", "Paris", "Lyon"]
    # one object per entry of each chunk's dictionary that rows use
    assert len({id(v) for v in taken["city"].iloc[:4]}) == 2 and len({id(v) for v in taken["city"].iloc[4:]}) == 2


def test_only_the_entries_rows_use_become_python_strings() -> None:
    """A dictionary may hold entries no row uses (a 32 MiB one, here): they are never made Python strings."""
    import tracemalloc

    dictionary = pa.array(["x" * (32 << 20), "a", "b"])
    chunk = pa.DictionaryArray.from_arrays(pa.array([1, 2, 1, 2], pa.int32()), dictionary)
    tracemalloc.start()
    try:
        values = flmcli.features._dictionary_strings(pa.chunked_array([chunk]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert values is not None and values.tolist() == ["a", "b", "a", "b"]
    assert peak < 1 << 20, peak


@pytest.mark.parametrize(
    "chunk",
    [
        pa.DictionaryArray.from_arrays(pa.array([0, None, 1], pa.int32()), pa.array(["a", "b"])),  # a null row
        pa.DictionaryArray.from_arrays(pa.array([0, 1, 1], pa.int32()), pa.array(["a", None])),  # a null entry
        pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["a", "b", "c"])),  # more entries
    ],
    ids=["null-row", "null-entry", "longer-dictionary"],
)
def test_dictionaries_not_taken_as_they_are_give_the_same_frame(chunk: pa.DictionaryArray) -> None:
    assert flmcli.features._dictionary_strings(pa.chunked_array([chunk])) is None
    table, dictionaries = _dense_and_encoded([chunk])
    taken = from_table(Batch(source="t", table=table, dictionaries=dictionaries), SPEC)
    hashed = from_table(Batch(source="t", table=table), SPEC)
    pd.testing.assert_frame_equal(taken, hashed)


def test_an_empty_column_gives_an_empty_object_array() -> None:
    empty = pa.chunked_array([], type=pa.dictionary(pa.int32(), pa.string()))
    values = flmcli.features._dictionary_strings(empty)
    assert values is not None and values.dtype == object and len(values) == 0


def test_a_slice_of_a_batch_slices_its_dictionaries() -> None:
    chunk = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 1, 0], pa.int32()), pa.array(["a", "b", "c"]))
    table, dictionaries = _dense_and_encoded([chunk])
    part = Batch(source="t", table=table, dictionaries=dictionaries).slice(1, 3)
    assert part.dictionaries is not None and part.dictionaries["city"].to_pylist() == ["b", "c", "b"]
    frame = from_table(part, SPEC)
    assert isinstance(frame, pd.DataFrame) and frame["city"].tolist() == ["b", "c", "b"]


def _read(path: Path, batch_size: int) -> list[Batch]:
    with open(path, "rb") as fp:
        return list(parquet_format.read(fp, source=str(path), batch_size=batch_size))


def test_the_parquet_reader_hands_on_its_text_columns_as_read(tmp_path: Path) -> None:
    """Every top-level text column (nulls too; not a nested one), the same rows as the decoded table's."""
    table = pq.read_table(DATA).slice(0, 2500).replace_schema_metadata(None)
    table = table.append_column("tags", pa.array([[f"t{i % 3}"] for i in range(table.num_rows)]))
    surname = table.column("Surname").to_pylist()
    surname[::9] = [None] * len(surname[::9])
    table = table.set_column(table.column_names.index("Surname"), "Surname", pa.array(surname))
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path, store_schema=False, row_group_size=1000)
    batches = _read(path, batch_size=700)
    assert [b.first_row for b in batches] == [1, 701, 1401, 2101]
    for batch in batches:
        assert batch.dictionaries is not None and batch.table is not None
        assert sorted(batch.dictionaries) == ["Gender", "Geography", "Surname"]
        for name, column in batch.dictionaries.items():
            assert pa.types.is_dictionary(column.type)
            assert column.cast(pa.string()).equals(batch.table.column(name))


def test_a_row_past_the_budget_is_still_refused_before_any_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet_strings, "BUDGET", 1 << 20)
    table = pq.read_table(DATA).slice(0, 3).replace_schema_metadata(None)
    long = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int32()), pa.array(["France", "x" * (2 << 20)]))
    table = table.set_column(table.column_names.index("Geography"), "Geography", long)
    path = tmp_path / "long.parquet"
    pq.write_table(table, path, store_schema=False)
    ran = invoke("predict", CHURN, path)
    assert ran.returncode == 1
    assert ran.stderr.decode().splitlines()[0] == (
        f"Error: {path}:2: field 'Geography': its values decode to 2 MiB, more than the 1 MiB one row may hold"
    )


@pytest.mark.parametrize("options", [{}, {"use_dictionary": False}, {"row_group_size": 900}],
                         ids=["dictionary-pages", "plain-pages", "row-groups"])
@pytest.mark.parametrize("to", ["ndjson", "csv", "parquet"])
def test_same_bytes_as_hashing_the_decoded_strings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, object], to: str
) -> None:
    table = pq.read_table(DATA).slice(0, 3000).replace_schema_metadata(None)
    gender = table.column("Gender").to_pylist()
    gender[100] = None  # a column with a null goes to the model as before (NaN)
    table = table.set_column(table.column_names.index("Gender"), "Gender", pa.array(gender))
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path, store_schema=False, **options)  # type: ignore[arg-type]
    args = ("predict", CHURN, path, "--to", to, "--batch-size", "1000", "--keep", "Surname,Geography")
    now = invoke(*args)
    monkeypatch.setattr(flmcli.features, "_dictionary_strings", lambda column: None)
    before = invoke(*args)
    assert now.returncode == 0, now.stderr
    assert (now.returncode, now.stdout, now.stderr) == (before.returncode, before.stdout, before.stderr)
