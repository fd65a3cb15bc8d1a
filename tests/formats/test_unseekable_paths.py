"""A Parquet or Arrow file given by a path that cannot seek (a FIFO, bash's `<(...)`) is spooled as stdin is,
instead of failing with "Illegal seek"; compressed input is named as such rather than as unknown binary."""

from __future__ import annotations

import gzip
import os
import threading
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import CHURN, DATA, invoke


def feed(fifo: Path, data: bytes) -> threading.Thread:
    def write() -> None:
        with open(fifo, "wb") as out:
            out.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("name", ["rows.parquet", "rows.arrow", "rows"])
def test_a_parquet_or_arrow_fifo_is_read_like_stdin(tmp_path: Path, name: str) -> None:
    frame = pd.read_parquet(DATA).head(50)
    source = tmp_path / "source"
    if name.endswith(".arrow"):
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        with pa.ipc.new_file(source, table.schema) as writer:
            writer.write_table(table)
    else:
        frame.to_parquet(source)
    expected = invoke("predict", CHURN, source, "--from", "arrow" if name.endswith(".arrow") else "parquet")
    assert expected.returncode == 0, expected.stderr
    fifo = tmp_path / name
    os.mkfifo(fifo)
    writer = feed(fifo, source.read_bytes())
    ran = invoke("predict", CHURN, fifo)
    writer.join(10)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == expected.stdout


@pytest.mark.parametrize("compress, kind", [(gzip.compress, "gzip")])
def test_compressed_input_is_named(tmp_path: Path, compress, kind: str) -> None:
    (tmp_path / "rows.csv.gz").write_bytes(compress(pd.read_parquet(DATA).head(5).to_csv(index=False).encode()))
    ran = invoke("predict", CHURN, tmp_path / "rows.csv.gz")
    assert ran.returncode == 1
    err = ran.stderr.decode()
    assert "rows.csv.gz:" in err and kind in err, err


@pytest.mark.parametrize("name, args", [("rows.csv", ()), ("rows.data", ("--from", "csv")),
                                        ("rows.ndjson", ())])
def test_compressed_input_under_a_text_name_is_named(tmp_path: Path, name: str, args: tuple[str, ...]) -> None:
    (tmp_path / name).write_bytes(gzip.compress(pd.read_parquet(DATA).head(5).to_csv(index=False).encode()))
    ran = invoke("predict", CHURN, tmp_path / name, *args)
    assert ran.returncode == 1
    err = ran.stderr.decode()
    assert f"{name}: the input is gzip-compressed" in err and "Traceback" not in err, err
