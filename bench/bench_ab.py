"""Two versions of flmcli/ side by side on the same input, end to end and net of start-up: interleaved, never asserted.

    .venv/bin/python bench/bench_ab.py REF_A REF_B [--fmt csv|parquet|ndjson] [--rows N] [--rounds K]

Each ref's flmcli/ (a git commit, branch or tag; WORKTREE for the files as they are now) is copied into a folder of
its own and run as `python -m flmcli predict` (PYTHONPATH, FLM_WARM=0) on --rows churn rows and on one row of the same
format, A then B in every round, so that the machine's load falls on both alike. Printed: the medians of wall (timed
here) and CPU (user + system of all threads, /usr/bin/time), the paired medians net of the one-row run (what
bench_columnar's csv and parquet sections net out as start-up), the 1-minute load at each round, and whether A and B
wrote the same bytes. The machine is shared: a difference smaller than the spread between rounds is no difference.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_predict import MODEL, PY, ROOT, TIME, Inputs


def checkout(ref: str, into: Path) -> Path:
    """`ref`'s flmcli/ under `into`/<ref>, the folder to put on PYTHONPATH."""
    folder = into / ref.replace("/", "_")
    folder.mkdir()
    if ref == "WORKTREE":
        shutil.copytree(ROOT / "flmcli", folder / "flmcli")
        return folder
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "flmcli"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def run(path: Path, source: Path, out: Path) -> tuple[float, float | None]:
    """Wall and CPU seconds of one `flm predict` with flmcli/ from `path`."""
    env = {**os.environ, "PYTHONPATH": str(path), "FLM_WARM": "0"}
    report = out.with_suffix(".time")
    cmd = [PY, "-m", "flmcli", "predict", str(MODEL), str(source), "-o", str(out)]
    if TIME:
        cmd = [TIME, "-f", "%U %S", "-o", str(report), *cmd]
    began = time.perf_counter()
    proc = subprocess.run(cmd, env=env, check=False, stderr=subprocess.PIPE)
    wall = time.perf_counter() - began
    if proc.returncode:
        sys.exit(f"exit {proc.returncode}: {' '.join(cmd)}\n{proc.stderr.decode()[-400:]}")
    cpu = None
    if TIME:
        user, system = report.read_text().split()[-2:]
        cpu = float(user) + float(system)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--fmt", choices=("csv", "parquet", "ndjson"), default="csv")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="flm-bench-ab-"))
    try:
        refs = {"A": checkout(args.a, tmp), "B": checkout(args.b, tmp)}
        inputs = Inputs(tmp)
        if args.fmt == "ndjson":
            many, one = inputs.ndjson(args.rows), inputs.ndjson(1)
        else:
            import pyarrow.csv as pacsv
            import pyarrow.parquet as pq

            table = pq.read_table(inputs.parquet(args.rows))
            many, one = tmp / f"rows.{args.fmt}", tmp / f"one.{args.fmt}"
            for path, rows in ((many, table), (one, table.slice(0, 1))):
                (pacsv.write_csv if args.fmt == "csv" else pq.write_table)(rows, path)
        figures: dict[tuple[str, str], list[tuple[float, float | None]]] = {
            (side, kind): [] for side in refs for kind in ("many", "one")}
        loads = []
        for _ in range(args.rounds):
            loads.append(os.getloadavg()[0])
            for side, path in refs.items():
                for kind, source in (("many", many), ("one", one)):
                    figures[(side, kind)].append(run(path, source, tmp / f"out-{side}-{kind}.{args.fmt}"))
        print(f"flm predict, {args.fmt}, {args.rows:,} churn rows and one row, {args.rounds} interleaved rounds, "
              f"{os.cpu_count()} cores")
        for side, ref in (("A", args.a), ("B", args.b)):
            many_runs, one_runs = figures[(side, "many")], figures[(side, "one")]
            net_wall = statistics.median(m[0] - o[0] for m, o in zip(many_runs, one_runs))
            cpus = [(m[1], o[1]) for m, o in zip(many_runs, one_runs) if m[1] is not None and o[1] is not None]
            net_cpu = f", CPU {statistics.median(m - o for m, o in cpus):.3f} s" if cpus else ""
            walls = sorted(m[0] - o[0] for m, o in zip(many_runs, one_runs))
            print(f"  {side} {ref}: {statistics.median(m[0] for m in many_runs):.3f} s, one row "
                  f"{statistics.median(o[0] for o in one_runs):.3f} s; net of start-up (paired medians): wall "
                  f"{net_wall:.3f} s (rounds {walls[0]:.3f}-{walls[-1]:.3f}){net_cpu}")
        same = (tmp / f"out-A-many.{args.fmt}").read_bytes() == (tmp / f"out-B-many.{args.fmt}").read_bytes()
        print(f"  same bytes out: {same}")
        print(f"  1-min load at each round: {', '.join(f'{x:.1f}' for x in loads)}; {os.getloadavg()[0]:.1f} at the end")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
