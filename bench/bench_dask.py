"""`flm predict --dask` on a 2-process LocalCluster vs one `flm predict` process, in the same run. Figures and
ratios are printed, never asserted.

    .venv/bin/python bench/bench_dask.py [--files 4] [--rows 1000000] [--repeat 3] [--empty 400]

  throughput  FILES Parquet files x ROWS churn rows (data/data.parquet repeated), scored into a directory:
              `flm predict churn.flm f*.parquet -o out/` (one process) vs the same with `--dask ADDRESS` on a
              LocalCluster(n_workers=2, threads_per_worker=1, processes=True) started once by this script.
              The two commands alternate round by round; each round prints the machine's load average.
              The first Dask round also pays the workers' first model load (audit + unpickle, once per process).
  overhead    EMPTY empty partitions through the same task flm submits per partition (time per task), and the
              client-side cost per input file of `--dask` (read_parquet metadata, graph) on one-row files.
  model       bytes sent to each worker for the model (the pickled plugin, once per worker) vs per task (a
              ModelRef: digest, name, trust options).
  paper       what 100 workers on 10 TB would cost in tasks and model transfers, from the figures above.

The machine is usually shared: runs are interleaved and repeated, medians are reported with min-max.
Inputs are generated into a temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "samples" / "churn.flm"
DATA = ROOT / "data" / "data.parquet"
FLM = str(Path(sys.executable).parent / "flm")


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def generate(directory: Path, files: int, rows: int) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = pq.read_table(DATA)
    copies = -(-rows // base.num_rows)
    table = pa.concat_tables([base] * copies).slice(0, rows)
    paths = []
    for i in range(files):
        path = directory / f"churn-{i}.parquet"
        pq.write_table(table, path, row_group_size=128 * 1024)
        paths.append(path)
    return paths


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    return elapsed


def throughput(address: str, inputs: list[Path], work: Path, repeat: int, rows: int) -> tuple[list[float], list[float]]:
    local_times: list[float] = []
    dask_times: list[float] = []
    total = rows * len(inputs)
    print(f"\n== throughput: {len(inputs)} files x {rows:,} rows = {total:,} rows, churn model, Parquet out")
    for round_ in range(repeat):
        order = ("local", "dask") if round_ % 2 == 0 else ("dask", "local")
        for kind in order:
            out = work / f"out-{kind}"
            shutil.rmtree(out, ignore_errors=True)
            before = load()
            if kind == "local":
                elapsed = timed([FLM, "predict", str(MODEL), *map(str, inputs), "-o", f"{out}/", "--no-progress"])
                local_times.append(elapsed)
            else:
                elapsed = timed([FLM, "predict", str(MODEL), *map(str, inputs), "-o", str(out), "--dask", address,
                                 "--no-progress"])
                dask_times.append(elapsed)
            print(f"  round {round_ + 1} {kind:5s} {elapsed:7.2f} s  {total / elapsed:>10,.0f} rows/s  ({before})")
    print(f"  one process      {spread(local_times)}")
    print(f"  dask, 2 workers  {spread(dask_times)}")
    warm = dask_times[1:] or dask_times
    print(f"  speed-up (median local / median dask): {statistics.median(local_times) / statistics.median(dask_times):.2f}x;"
          f" without the first dask round (workers' first model load): "
          f"{statistics.median(local_times) / statistics.median(warm):.2f}x")
    return local_times, dask_times


def overhead(client: object, address: str, work: Path, empty: int) -> float:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from dask.delayed import delayed

    from flmcli.dask import PredictOptions, read_model, ship
    from flmcli.dask.job import Output, write_part

    print(f"\n== per-task overhead ({load()})")
    ref, data = read_model(MODEL)
    ship(ref, data, client)
    target = Output(str(work / "empty-out"))
    target.check()
    frame = pd.DataFrame({"x": pd.Series([], dtype="int64")})
    per_task = 0.0
    for n in (1, empty):
        tasks = [delayed(write_part, pure=False)(frame, ref, PredictOptions(), "parquet", target.fs, target.temporary,
                                                  f"part-{i:06d}.parquet", "empty", "parquet", 0, None)
                 for i in range(n)]
        start = time.perf_counter()
        client.compute(tasks, sync=True)  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - start
        if n > 1:
            per_task = 1000 * elapsed / n
            print(f"  {n} empty partitions as flm tasks: {elapsed:.2f} s = {1000 * elapsed / n:.2f} ms per task "
                  f"on 2 workers (scheduler round trips included)")
    target.discard()
    # Per input file through the CLI: one-row files, 1 vs N, so the client's per-file work shows.
    files = []
    for i in range(40):
        path = work / f"one-{i}.parquet"
        pq.write_table(pq.read_table(DATA).slice(i, 1), path)
        files.append(path)
    times = {}
    for count in (1, 40):
        out = work / f"one-out-{count}"
        times[count] = min(timed([FLM, "predict", str(MODEL), *map(str, files[:count]), "-o", str(out), "--dask",
                                  address, "--no-progress"]) for _ in range(2))
        shutil.rmtree(out, ignore_errors=True)
    print(f"  CLI, 1 one-row file: {times[1]:.2f} s; 40 one-row files: {times[40]:.2f} s "
          f"=> {1000 * (times[40] - times[1]) / 39:.0f} ms per extra input file (client + 2 workers)")
    del pa
    return per_task


def model_bytes() -> tuple[int, int, int]:
    import cloudpickle

    from flmcli.dask import read_model
    from flmcli.dask.worker import ModelPlugin

    ref, data = read_model(MODEL)
    plugin = len(cloudpickle.dumps(ModelPlugin(ref, data)))
    per_task = len(pickle.dumps(ref))
    print(f"\n== model transfer\n  model file {len(data):,} B; sent once per worker process (pickled plugin) "
          f"{plugin:,} B; per task only its ModelRef: {per_task} B")
    return len(data), plugin, per_task


def paper(rows_per_s_worker: float, plugin: int, per_task_ms: float, row_bytes: float) -> None:
    tb = 10 * 10**12
    print("\n== on paper: 100 workers, 10 TB of Parquet")
    for size in (128 * 2**20, 256 * 2**20, 1 * 2**30):
        tasks = tb / size
        print(f"  --partition-size {size // 2**20:>5} MiB: {tasks:>9,.0f} partitions -> {tasks:>9,.0f} flm tasks "
              f"(+ as many read tasks unless fused), {tasks / 100:,.0f} per worker; at the measured "
              f"{per_task_ms:.1f} ms per task ~{tasks * per_task_ms / 1000 / 60:,.1f} min of task overhead in all")
    print(f"  model transfers: 100 (one per worker process, again only for a restarted worker) x {plugin:,} B = "
          f"{100 * plugin / 2**20:.1f} MiB, whatever the data size")
    rows = tb / row_bytes
    print(f"  scoring at the measured {rows_per_s_worker:,.0f} rows/s per worker process: 10 TB of churn-like Parquet "
          f"({row_bytes:.1f} B/row on disk in data/data.parquet, so {rows:,.0f} rows) is ~{rows / rows_per_s_worker / 100 / 3600:,.1f} h "
          f"on 100 workers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--empty", type=int, default=400)
    args = parser.parse_args()

    import logging

    from distributed import Client, LocalCluster

    work = Path(tempfile.mkdtemp(prefix="flm-bench-dask-"))
    print(f"cpus {os.cpu_count()}; {load()}")
    try:
        inputs = generate(work, args.files, args.rows)
        on_disk = sum(p.stat().st_size for p in inputs)
        print(f"inputs: {len(inputs)} Parquet files, {on_disk / 2**20:.0f} MiB on disk")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            address = cluster.scheduler_address
            local_times, dask_times = throughput(address, inputs, work, args.repeat, args.rows)
            per_task_ms = overhead(client, address, work, args.empty)
        size, plugin, per_task = model_bytes()
        per_worker = args.rows * args.files / statistics.median(dask_times) / 2
        # Bytes per row of the original, unrepeated rows: the repeated inputs compress far better than real data.
        import pyarrow.parquet as pq

        paper(per_worker, plugin, per_task_ms, DATA.stat().st_size / pq.ParquetFile(DATA).metadata.num_rows)
        print(f"\n{load()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
