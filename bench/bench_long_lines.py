"""One long NDJSON line read from a pipe-sized trickle vs read in one piece, in the same run: the readers must stay
linear in the line's length. Figures printed, never asserted.

    .venv/bin/python bench/bench_long_lines.py [--sizes 8,16,32] [--piece 65536]

For each size (MB of a string field in one churn row) and each NDJSON reader (`ndjson`: rows kept as they came;
`ndjson_arrow`: rows into typed columns), the seconds to read it handed over `--piece` bytes per read (a pipe's
64 KiB) and in one read, and their ratio. A quadratic reader's trickle time grows 4x when the size doubles.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson  # noqa: E402

from flmcli.formats import ndjson, ndjson_arrow  # noqa: E402


class Trickle(io.RawIOBase):
    def __init__(self, data: bytes, size: int) -> None:
        self.data = memoryview(data)
        self.size = size

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        piece, self.data = bytes(self.data[: self.size]), self.data[self.size :]
        return piece

    read = read1


def seconds(reader, data: bytes, piece: int) -> float:
    started = time.perf_counter()
    for _ in reader(Trickle(data, piece), source="bench", batch_size=16384):
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="8,16,32")
    parser.add_argument("--piece", type=int, default=65536)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    row = {"CreditScore": 600, "Geography": "France", "Gender": "Male", "Age": 40, "Tenure": 3}
    for mb in (int(s) for s in args.sizes.split(",")):
        data = orjson.dumps({**row, "Surname": "x" * (mb << 20)}) + b"\n" + orjson.dumps(row) + b"\n"
        for name, reader in (("ndjson", ndjson.read), ("ndjson_arrow", ndjson_arrow.read)):
            whole = seconds(reader, data, len(data))
            trickle = seconds(reader, data, args.piece)
            print(f"{name:13} {mb:4} MB line: one read {whole:6.2f} s, {args.piece >> 10} KiB reads {trickle:6.2f} s, "
                  f"ratio {trickle / whole:5.1f}")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
