"""NDJSON read + write throughput of flmcli.formats against a hand-written orjson loop, in the same run.

    .venv/bin/python bench/bench_formats.py [ROWS] [--objects]

Both sides read the same file, parse each line with orjson, hand the batch to a stand-in model
(one numpy call) and write one {"prediction": v} line per row to /dev/null.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow.parquet as pq

from flmcli import formats
from flmcli.batch import Scored

CHURN = str(Path(__file__).resolve().parents[1] / "data" / "data.parquet")
BATCH = 10_000


def sample(rows: int, objects: bool) -> bytes:
    table = pq.read_table(CHURN).drop_columns(["RowNumber", "CustomerId", "Surname", "Exited"])
    base = table.to_pylist() if objects else [list(row.values()) for row in table.to_pylist()]
    lines = [orjson.dumps(row) for row in base]
    return b"\n".join(lines[i % len(lines)] for i in range(rows)) + b"\n"


def model(count: int) -> np.ndarray:
    return np.arange(count, dtype=np.int64) & 1


def hand_written(path: str) -> int:
    loads, dumps = orjson.loads, orjson.dumps
    written = 0
    with open(path, "rb") as fp, open(os.devnull, "wb") as out:
        rows: list = []
        for line in fp:
            rows.append(loads(line))
            if len(rows) == BATCH:
                out.write(b"".join(dumps({"prediction": v}) + b"\n" for v in model(len(rows)).tolist()))
                written += len(rows)
                rows = []
        if rows:
            out.write(b"".join(dumps({"prediction": v}) + b"\n" for v in model(len(rows)).tolist()))
            written += len(rows)
    return written


def with_formats(path: str) -> int:
    with formats.open_input(path, None) as (fmt, fp, name), open(os.devnull, "wb") as out:
        batches = formats.reader(fmt)(fp, source=name, batch_size=BATCH, max_delay=None)
        scored = (Scored(batch=b, outputs=pd.DataFrame({"prediction": model(len(b))})) for b in batches)
        return formats.writer("ndjson")(scored, out)


def read_only(path: str) -> int:
    with formats.open_input(path, None) as (fmt, fp, name):
        return sum(len(b) for b in formats.reader(fmt)(fp, source=name, batch_size=BATCH, max_delay=None))


def json_array(path: str) -> int:
    with open(path, "rb") as fp:
        return sum(len(b) for b in formats.reader("json")(fp, source=path, batch_size=BATCH, max_delay=None))


def best_rates(cases: list[tuple[str, object, str]], rounds: int = 5) -> dict[str, float]:
    """Best of `rounds`, the cases interleaved so that load from other processes hits them alike."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for label, run, path in cases:
            start = time.perf_counter()
            rows = run(path)  # type: ignore[operator]
            best[label] = max(best.get(label, 0.0), rows / (time.perf_counter() - start))
    return best


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1_000_000
    objects = "--objects" in sys.argv
    data = sample(rows, objects)
    print(f"{rows:,} {'object' if objects else 'array'} rows, {len(data) / 1e6:.0f} MB NDJSON, batch {BATCH:,}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rows.ndjson")
        array_path = os.path.join(tmp, "rows.json")
        with open(path, "wb") as fp:
            fp.write(data)
        with open(array_path, "wb") as fp:
            fp.write(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]")
        cases = [
            ("hand-written orjson loop", hand_written, path),
            ("flmcli.formats ndjson read+write", with_formats, path),
            ("flmcli.formats ndjson read only", read_only, path),
            ("flmcli.formats json array read", json_array, array_path),
        ]
        rates = best_rates(cases)
    base = rates["hand-written orjson loop"]
    for label, rate in rates.items():
        print(f"{label:<36} {rate:>12,.0f} rows/s  ({rate / base:.2f}x hand-written)")


if __name__ == "__main__":
    main()
