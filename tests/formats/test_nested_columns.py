"""A Parquet or Arrow column of nested values (lists, structs, maps) where the model takes a feature is refused
naming the column, as a nested JSON value is refused naming its field; it was 'line 1: the model cannot use
this row: setting an array element with a sequence', with no column named."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, DATA, invoke


@pytest.mark.parametrize("kind", ["list", "struct", "map"])
@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_a_nested_feature_column_is_refused_naming_it(tmp_path: Path, kind: str, fmt: str) -> None:
    table = pq.read_table(DATA).slice(0, 10)
    ages = table.column("Age").to_pylist()
    nested = {"list": pa.array([[v] for v in ages]),
              "struct": pa.array([{"a": v} for v in ages]),
              "map": pa.array([[("a", v)] for v in ages], pa.map_(pa.string(), pa.int64()))}[kind]
    table = table.set_column(table.column_names.index("Age"), "Age", nested)
    path = tmp_path / f"rows.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        with pa.ipc.new_file(path, table.schema) as writer:
            writer.write_table(table)
    ran = invoke("predict", CHURN, path)
    assert ran.returncode == 1
    err = ran.stderr.decode()
    assert f"rows.{fmt}: field 'Age':" in err and "nested" in err, err


def test_a_nested_column_the_model_does_not_use_is_left_alone(tmp_path: Path) -> None:
    table = pq.read_table(DATA).slice(0, 10)
    table = table.append_column("tags", pa.array([["a", "b"]] * 10))
    pq.write_table(table, tmp_path / "rows.parquet")
    ran = invoke("predict", CHURN, tmp_path / "rows.parquet")
    assert ran.returncode == 0, ran.stderr
