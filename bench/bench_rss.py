"""Peak RSS of `flm predict` as the input grows, in every input format (issue 11 §1: "peak RSS still flat from 100k
to 10M rows", flat as issue 3 set it: the 10M run under 1.5x the 100k run), beside one row: what flm holds for the rows themselves is the peak minus the one-row peak (imports
and the model). Figures and ratios are printed, never asserted.

    .venv/bin/python bench/bench_rss.py [--rows 100000,300000,1000000,3000000] [--formats csv,parquet,ndjson]
                                        [--repeat K] [--tmp DIR]

(add 10000000 to --rows for the issue's 10M: ~3.2 GB of inputs in --tmp, ~2 min a round)

Runs are interleaved (format by format, size by size) and repeated; peak RSS (`/usr/bin/time -f %M`) and CPU
seconds are printed with the 1-minute load average: the machine is shared. Inputs are the churn rows of
data/data.parquet replicated into a temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_columnar import run
from bench_predict import DATA, FLM, MODEL, TIME, med, mib

# Up to ~500k churn rows the peak still rises: every batch of a smaller input is read while the model loads, so
# reading never overlaps scoring, and the read-ahead never fills. From there the peak is the bound the read-ahead
# and prefetch depth set, whatever the length: the ratio against this size (if run) says whether it stays there.
# pyarrow writes Parquet row groups of up to 1M rows, which cost more to decode than smaller ones.
BOUND_FROM = 1_000_000


def make(path: Path, fmt: str, rows: int) -> None:
    import orjson
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pq.read_table(DATA)
    parts, done = [], 0
    while done < rows:
        parts.append(table.slice(0, min(table.num_rows, rows - done)))
        done += parts[-1].num_rows
    whole = pa.concat_tables(parts)
    if fmt == "csv":
        pacsv.write_csv(whole, path)
    elif fmt == "parquet":
        pq.write_table(whole, path)
    else:
        with open(path, "wb") as out:
            for batch in whole.to_batches(65536):
                out.write(b"".join(orjson.dumps(row) + b"\n" for row in batch.to_pylist()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,300000,1000000,3000000")
    parser.add_argument("--formats", default="csv,parquet,ndjson")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--tmp", default=None)
    args = parser.parse_args()
    if TIME is None:
        sys.exit("bench_rss: /usr/bin/time not found")
    sizes = [1, *(int(n) for n in args.rows.split(","))]
    formats = args.formats.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="flm-bench-rss-", dir=args.tmp))
    print(f"flm predict, peak RSS: model {MODEL}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    try:
        for fmt in formats:
            for rows in sizes:
                make(tmp / f"rows-{rows}.{fmt}", fmt, rows)
        peaks: dict[tuple[str, int], list[int]] = {}
        cpus: dict[tuple[str, int], list[float]] = {}
        loads: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            for fmt in formats:
                for rows in sizes:
                    result = run([FLM, "predict", str(MODEL), str(tmp / f"rows-{rows}.{fmt}")], stdout=str(tmp / "out"))
                    peaks.setdefault((fmt, rows), []).append(result.rss_kib or 0)
                    cpus.setdefault((fmt, rows), []).append(result.cpu or 0.0)
                    loads.setdefault(fmt, []).append(os.getloadavg()[0])
        for fmt in formats:
            base = med(peaks[(fmt, 1)])
            print(f"\n== {fmt} (1-min load {min(loads[fmt]):.1f}-{max(loads[fmt]):.1f}) ==")
            print(f"  $ /usr/bin/time -f %M {FLM} predict {MODEL} rows-N.{fmt} > out")
            for rows in sizes:
                peak = med(peaks[(fmt, rows)])
                print(f"  {rows:>11,} rows  peak {mib(int(peak)):>8} (runs: "
                      f"{', '.join(mib(p) for p in peaks[(fmt, rows)])})  over one row {mib(int(peak - base)):>8}  "
                      f"cpu {med(cpus[(fmt, rows)]):5.1f} s")
            small, big = sizes[1], sizes[-1]
            ratio = med(peaks[(fmt, big)]) / med(peaks[(fmt, small)])
            print(f"  peak RSS {big:,} / {small:,} rows: {ratio:.2f}x (target: flat, the 10M run under 1.5x the 100k run)")
            bounded = next((rows for rows in sizes[1:-1] if rows >= BOUND_FROM), None)
            if bounded is not None:
                ratio = med(peaks[(fmt, big)]) / med(peaks[(fmt, bounded)])
                print(f"  peak RSS {big:,} / {bounded:,} rows: {ratio:.2f}x (the bound, once reached)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
