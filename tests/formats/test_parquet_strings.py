"""Parquet text columns: a dictionary page cannot make one batch decode to more than the budget."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flmcli.formats import parquet_format, parquet_strings
from tests.helpers import CHURN, DATA, invoke

MIB = 1 << 20


def _bomb(path: Path, rows: int, column: str = "Geography", value_size: int = MIB) -> pa.Table:
    """Churn rows whose `column` is one long value repeated by tiny indices, without the Arrow schema that would
    make pyarrow read it back as a dictionary anyway: a few kB on disk."""
    table = pq.read_table(DATA).slice(0, 1).take(np.zeros(rows, dtype=np.int64)).replace_schema_metadata(None)
    long = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * value_size]))
    table = table.set_column(table.column_names.index(column), column, long)
    pq.write_table(table, path, compression="zstd", store_schema=False)
    return table


def _read(path: Path, batch_size: int) -> list[tuple[pa.Table, int]]:
    with open(path, "rb") as fp:
        return [
            (b.table, b.first_row)
            for b in parquet_format.read(fp, source=str(path), batch_size=batch_size)
            if b.table is not None
        ]


def test_a_dictionary_bomb_is_decoded_in_slices_within_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet_strings, "BUDGET", 4 * MIB)
    path = tmp_path / "bomb.parquet"
    _bomb(path, rows=40)
    assert path.stat().st_size < 20_000  # 40 MiB of text once decoded
    read = _read(path, batch_size=1000)
    assert all(table.nbytes <= 5 * MIB for table, _ in read), [table.nbytes for table, _ in read]
    assert [first for _, first in read] == [1 + sum(t.num_rows for t, _ in read[:i]) for i in range(len(read))]
    whole = pa.concat_tables(table for table, _ in read)
    assert whole.equals(pq.read_table(path))  # the same rows, types and values as a plain read


def test_slices_keep_within_the_budget_and_never_split_a_row() -> None:
    sizes = np.array([1, 10, 1, 1, 3, 0, 0], dtype=np.int64)
    slices = list(parquet_strings._slices(sizes, budget=4))
    assert slices == [(0, 1), (1, 2), (2, 4), (4, 7)]


@pytest.mark.parametrize("options", [{}, {"use_dictionary": False}, {"store_schema": False}, {"row_group_size": 3000}])
def test_ordinary_files_read_as_before(tmp_path: Path, options: dict[str, object]) -> None:
    """Dictionary and plain pages, with and without the stored Arrow schema, several row groups; nulls too."""
    table = pq.read_table(DATA).replace_schema_metadata(None)
    surname = table.column("Surname").to_pylist()
    surname[::7] = [None] * len(surname[::7])
    table = table.set_column(table.column_names.index("Surname"), "Surname", pa.array(surname))
    path = tmp_path / "churn.parquet"
    pq.write_table(table, path, **options)  # type: ignore[arg-type]
    read = _read(path, batch_size=4096)
    assert [t.num_rows for t, _ in read] == [4096, 4096, 1808]
    assert pa.concat_tables(t for t, _ in read).equals(pq.read_table(path))


def test_a_column_stored_as_a_dictionary_stays_one(tmp_path: Path) -> None:
    """pyarrow writes the Arrow schema into the file; a dictionary column it names is read back as such, as before."""
    table = pq.read_table(DATA).slice(0, 100)
    table = table.set_column(table.column_names.index("Gender"), "Gender", table.column("Gender").dictionary_encode())
    path = tmp_path / "dict.parquet"
    pq.write_table(table, path)
    ((read, _),) = _read(path, batch_size=1000)
    assert pa.types.is_dictionary(read.schema.field("Gender").type)
    assert read.column("Gender").to_pylist() == table.column("Gender").to_pylist()


def test_flm_predict_scores_every_row_of_a_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet_strings, "BUDGET", 4 * MIB)
    path = tmp_path / "bomb.parquet"
    _bomb(path, rows=24)
    ran = invoke("predict", CHURN, path, "--to", "ndjson")
    assert ran.returncode == 0, ran.stderr
    assert len(io.BytesIO(ran.stdout).readlines()) == 24


def test_one_row_that_decodes_past_the_budget_is_refused_naming_row_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list of 64 copies of a 1 MiB value in row 3: no slice could hold the row."""
    monkeypatch.setattr(parquet_strings, "BUDGET", 4 * MIB)
    table = pq.read_table(DATA).slice(0, 4).replace_schema_metadata(None)
    values = pa.DictionaryArray.from_arrays(pa.array(np.zeros(67, dtype=np.int32)), pa.array(["x" * MIB]))
    tags = pa.ListArray.from_arrays(pa.array([0, 1, 2, 66, 67], pa.int32()), values)
    table = table.append_column("tags", tags)
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path, compression="zstd", store_schema=False)
    ran = invoke("predict", CHURN, path)
    assert ran.returncode == 1
    assert ran.stderr.decode().splitlines()[0] == (
        f"Error: {path}:3: field 'tags': its values decode to 64 MiB, more than the 4 MiB one row may hold"
    )


def test_nested_text_reads_as_before(tmp_path: Path) -> None:
    """Lists, lists of lists, structs, maps, binary and fixed-size binary, with nulls, across batches."""
    rows = 3000
    table = pa.table(
        {
            "l": pa.array([[f"v{i % 7}", "w" * (i % 5)] if i % 11 else None for i in range(rows)]),
            "s": pa.array([{"x": f"s{i % 3}" if i % 4 else None, "y": i} for i in range(rows)]),
            "m": pa.array([[(f"k{i % 2}", "v" * (i % 3))] for i in range(rows)], pa.map_(pa.string(), pa.string())),
            "ll": pa.array([[["a"], [f"b{i % 9}", None]] for i in range(rows)]),
            "b": pa.array([bytes([i % 256]) * (i % 4) if i % 13 else None for i in range(rows)]),
            "f": pa.array([bytes([i % 256, 1]) for i in range(rows)], pa.binary(2)),
        }
    )
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path, store_schema=False, row_group_size=1000)
    read = _read(path, batch_size=700)
    assert pa.concat_tables(t for t, _ in read).equals(pq.read_table(path))
    assert [first for _, first in read] == list(range(1, rows + 1, 700))


def test_sizes_of_a_sliced_nested_column_count_its_own_rows() -> None:
    words = pa.array(["a", "bb", "ccc"]).dictionary_encode()
    lists = pa.ListArray.from_arrays(pa.array([0, 2, 2, 3], pa.int32()), words)
    assert parquet_strings._sizes(lists).tolist() == [3, 0, 3]
    assert parquet_strings._sizes(lists.slice(1)).tolist() == [0, 3]
    structs = pa.StructArray.from_arrays([words, pa.array([1, 2, 3])], names=["w", "n"])
    assert parquet_strings._sizes(structs.slice(1)).tolist() == [2, 3]
