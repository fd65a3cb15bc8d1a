"""Booleans where the model expects numbers are read as 1 and 0, in every format (the README says so)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from flmcli.cli import cli
from tests.helpers import CHURN, ROOT

FLAGS = ["HasCrCard", "IsActiveMember"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.read_parquet(ROOT / "data" / "data.parquet").drop(columns=["Exited"]).head(200)


def predictions(tmp_path: Path, frame: pd.DataFrame, fmt: str) -> list[object]:
    path = tmp_path / f"rows.{fmt}"
    if fmt == "ndjson":
        path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in frame.to_dict("records")))
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(path), "--to", "ndjson"])
    assert result.exit_code == 0, result.stderr
    return [orjson.loads(line)["prediction"] for line in result.stdout.splitlines()]


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "parquet"])
def test_booleans_score_as_ones_and_zeros(tmp_path: Path, frame: pd.DataFrame, fmt: str) -> None:
    as_bools = frame.astype({flag: bool for flag in FLAGS})
    assert as_bools[FLAGS].dtypes.tolist() == [bool, bool]
    assert predictions(tmp_path, as_bools, fmt) == predictions(tmp_path, frame, fmt)
