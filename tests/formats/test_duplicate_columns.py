"""A column name that appears twice in a CSV header, a Parquet or an Arrow schema, where flm must pick one (a
feature of the model, a --keep field), is refused naming it: which copy the model saw would be a guess. It was a
Python KeyError ('unexpected')."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, DATA, invoke


def table(extra: str) -> pa.Table:
    frame = pd.read_parquet(DATA).drop(columns=["Exited"]).head(10)
    base = pa.Table.from_pandas(frame, preserve_index=False)
    return base.append_column(extra, pa.array([99] * base.num_rows))


def write(tmp_path: Path, kind: str, extra: str) -> Path:
    data = table(extra)
    path = tmp_path / f"rows.{kind}"
    if kind == "csv":
        frame = data.to_pandas()
        path.write_text(frame.to_csv(index=False))
        assert path.read_text().splitlines()[0].count(extra) == 2
    elif kind == "parquet":
        pq.write_table(data, path)
    else:
        with pa.ipc.new_file(path, data.schema) as writer:
            writer.write_table(data)
    return path


@pytest.mark.parametrize("kind", ["csv", "parquet", "arrow"])
def test_a_feature_named_twice_is_refused_naming_it(tmp_path: Path, kind: str) -> None:
    ran = invoke("predict", CHURN, write(tmp_path, kind, "Age"))
    assert ran.returncode == 1
    err = ran.stderr.decode()
    assert f"rows.{kind}: field 'Age'" in err and "2 columns" in err, err
    assert "unexpected" not in err
    assert ran.stdout == b""


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_kept_field_named_twice_is_refused_naming_it(tmp_path: Path, kind: str) -> None:
    ran = invoke("predict", CHURN, write(tmp_path, kind, "Surname"), "--keep", "Surname")
    assert ran.returncode == 1
    err = ran.stderr.decode()
    assert f"rows.{kind}: field 'Surname'" in err and "2 columns" in err and "unexpected" not in err, err


def test_a_duplicate_the_run_does_not_use_is_left_alone(tmp_path: Path) -> None:
    data = table("X").append_column("X", pa.array([1] * 10))
    path = tmp_path / "rows.parquet"
    pq.write_table(data, path)
    ran = invoke("predict", CHURN, path)
    assert ran.returncode == 0, ran.stderr
    assert len(ran.stdout.splitlines()) == 10
