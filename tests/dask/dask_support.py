"""What the Dask tests share: data files written from the churn sample, local runs to compare with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from click.testing import CliRunner, Result

from flmcli.cli import cli

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "samples" / "churn.flm"
DATA = ROOT / "data" / "data.parquet"


def invoke(*args: Any, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def churn(rows: int, start: int = 0) -> pa.Table:
    return pq.read_table(DATA).slice(start, rows)


def write(table: pa.Table, path: Path) -> Path:
    """`table` as a Parquet, NDJSON or CSV file, by the name's extension."""
    if path.suffix == ".parquet":
        pq.write_table(table, path, row_group_size=1000)
    elif path.suffix == ".ndjson":
        path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in table.to_pylist()))
    else:
        pacsv.write_csv(table, path)
    return path


def parts(directory: Path, ext: str = ".parquet") -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith("part-") and p.name.endswith(ext))


def read_parts(directory: Path) -> pd.DataFrame:
    """The part files in name order: the input's row order."""
    assert (directory / "_SUCCESS").exists()
    return pd.concat([pq.read_table(p).to_pandas() for p in parts(directory)], ignore_index=True)


def local_frame(model: Path, inputs: list[Path], tmp: Path, *options: str) -> pd.DataFrame:
    """What `flm predict` without --dask writes for the same files, one after the other."""
    frames = []
    for i, path in enumerate(inputs):
        target = tmp / f"local-{i}.parquet"
        result = invoke("predict", model, path, "-o", target, "--to", "parquet", *options)
        assert result.exit_code in (0, 5), result.output
        frames.append(pq.read_table(target).to_pandas())
    return pd.concat(frames, ignore_index=True)
