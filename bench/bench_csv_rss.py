"""Peak RSS of `flm predict` on CSV input as the input grows (issue 11 §1: "peak RSS still flat from 100k to 10M
rows"), beside flm before the reader's short reads (same flm, `csv_format.READ_SIZE` set back to the block
size: pyarrow's reader thread then queued up to 32 reads of 4 MiB ahead of the parser), and beside flm with
16k-row batches (its pipeline of batches in flight is full from the smallest size on). Figures and ratios are
printed, never asserted.

    .venv/bin/python bench/bench_csv_rss.py [--rows 100000,1000000,10000000] [--repeat K] [--tmp DIR]

Each size is run with each variant, rounds interleaved and repeated; peak RSS (`/usr/bin/time -f %M`), wall and
CPU seconds are printed with the 1-minute load average of each run: the machine is shared. Inputs are the churn
rows of data/data.parquet replicated, written to a temporary directory that is removed at the end (10M rows
take about 700 MB).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_columnar import CpuRun, run
from bench_predict import DATA, FLM, MODEL, PY, TIME, med, mib, show

BEFORE = """
import sys
from flmcli.formats import csv_format
csv_format.READ_SIZE = csv_format.BLOCK_SIZE
from flmcli.cli import main
sys.argv = ["flm", *sys.argv[1:]]
main()
"""


def make_csv(path: Path, rows: int) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pq.read_table(DATA)
    with pacsv.CSVWriter(path, table.schema) as writer:
        done = 0
        while done < rows:
            part = table.slice(0, min(table.num_rows, rows - done))
            writer.write_table(part)
            done += part.num_rows


def load() -> float:
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000,10000000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--tmp", default=None)
    args = parser.parse_args()
    if TIME is None:
        sys.exit("bench_csv_rss: /usr/bin/time not found")
    sizes = [int(n) for n in args.rows.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="flm-bench-csv-rss-", dir=args.tmp))
    print(f"flm predict, CSV peak RSS: model {MODEL}, {os.cpu_count()} cores, load {load():.1f}, inputs in {tmp}")
    try:
        (tmp / "before.py").write_text(BEFORE)
        sources = {}
        for rows in sizes:
            sources[rows] = tmp / f"rows-{rows}.csv"
            make_csv(sources[rows], rows)
        # The third: flm with 16k-row batches, whose read-ahead pipeline (2 batches queued by the reader thread, one
        # being parsed, one in the model) is already full at the smallest size, as NDJSON's default batches are.
        variants = {"flm": [FLM], "flm before": [PY, str(tmp / "before.py")], "flm 16k": [FLM]}
        extra = {"flm 16k": ["--batch-size", "16384"]}
        results: dict[tuple[str, int], list[tuple[CpuRun, float]]] = {}
        for _ in range(args.repeat):
            for rows in sizes:
                for name, prefix in variants.items():
                    before = load()
                    cmd = [*prefix, "predict", str(MODEL), str(sources[rows]), *extra.get(name, [])]
                    result = run(cmd, stdout=str(tmp / "out.csv"))
                    results.setdefault((name, rows), []).append((result, before))
        print()
        for name, prefix in variants.items():
            print(f"  $ /usr/bin/time -f %M {show([*prefix, 'predict', str(MODEL), 'rows-N.csv', *extra.get(name, [])])}"
                  " > out.csv")
            for rows in sizes:
                runs = results[(name, rows)]
                peaks = [r.rss_kib or 0 for r, _ in runs]
                cpus = [r.cpu for r, _ in runs if r.cpu is not None]
                print(f"  {name:10} {rows:>11,} rows  peak {mib(int(med(peaks))):>8} (runs: "
                      f"{', '.join(mib(p) for p in peaks)})  wall {med([r.wall for r, _ in runs]):6.1f} s  "
                      f"cpu {med(cpus):6.1f} s  (1-min load: {', '.join(f'{x:.1f}' for _, x in runs)})")
            small, big = sizes[0], sizes[-1]
            ratio = med([r.rss_kib or 0 for r, _ in results[(name, big)]]) / med(
                [r.rss_kib or 0 for r, _ in results[(name, small)]])
            print(f"  {name:10} peak RSS {big:,} / {small:,} rows: {ratio:.2f}x (target: flat)\n")
        for rows in sizes:
            now = med([r.cpu or 0.0 for r, _ in results[("flm", rows)]])
            was = med([r.cpu or 0.0 for r, _ in results[("flm before", rows)]])
            print(f"  {rows:>11,} rows: CPU seconds flm / flm before: {now / was:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload {load():.1f} at the end")


if __name__ == "__main__":
    main()
