"""`flm predict` through Arrow's JSON reader (issue 11 §1): figures and ratios against baselines measured in the
same run, never asserted.

    .venv/bin/python bench/bench_columnar.py [--rows N] [--repeat K] [--only ndjson,json,csv,parquet,rss,threads,stages,latency]

    ndjson   NDJSON object rows: `flm predict` (Arrow columns), flm with every batch through Arrow's JSON reader
             (json_columns.parse_objects switched off: ARROW_JSON) and flm as it was before (same flm with the Arrow
             reader, typed columns and column-wise NDJSON lines switched back: BEFORE) vs the hand-written orjson -> object array -> predict -> orjson script of
             bench_predict.py; same bytes out checked
    json     a JSON array of arrays: `flm predict` vs a hand-written orjson -> object array -> predict -> orjson script
    csv, parquet
             `flm predict` end to end vs `estimator.predict` on frames in memory, 64k rows a call like flm, net of
             flm's start-up (one row of the same format through `flm predict`, same rounds): pandas' frame (pd.read_csv/read_parquet)
             and the frame flm builds (features.from_table), BLAS at its default and at flm's one thread less than
             the cores; ratios against the fastest of them, by wall and by CPU time
    rss      peak RSS of NDJSON and CSV runs, 100k rows vs --big-rows rows
    latency  one row through a live pipe (default --max-delay) until its answer, Arrow reader vs flm before
    threads  in one process, reader + model over the NDJSON rows and over the JSON arrays: Arrow's own threads
             on/off x the read-ahead thread on/off, and the parse alone; CPU, and how long the main thread waited
             for the reader (the parsing the model did not hide)
    blas     the model alone on the NDJSON rows' typed columns, 64k rows a call, BLAS threads as loaded vs one
             less than the cores (what `flm predict` sets): wall and CPU
    stages   CPU seconds of each stage (start-up, parse, features, model, encode) run one at a time on one thread,
             flm and the hand-written scripts' steps side by side: where the time goes
    filestages
             the same for CSV and Parquet files (read, features, model, outputs, encode), then `flm predict`'s own
             pipeline in one process with the model loaded: CPU of the main thread (model) and of the others
             (reader, Arrow), and wall against the model alone on the same frames
    timeline `flm predict` of --rows CSV and Parquet rows against one row of the same format (what the csv and
             parquet sections net out as start-up), each run timed from inside (the model's load, the first batch
             waited for, the model calls by wall and by the main thread's CPU, the main thread waiting between calls,
             the tail, the reader thread's CPU): where the time net of start-up goes
    nativereads
             the ceiling of letting Arrow read a CSV file itself (C++ reads on its own thread, no GIL, no Python
             copies) instead of through csv_format._ShortReads: `flm predict` of --rows CSV rows as is vs the same flm
             whose first CSV reader reads the file natively (NATIVE_READS: no type-drift recovery, no bounded
             read-ahead, not a reader flm could ship), each against its one-row start-up; wall and CPU net of it,
             peak RSS, same bytes out

Every figure is printed with the 1-minute load average (`uptime`) when it was taken: the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_predict import (
    FLM,
    HAND_WRITTEN,
    MODEL,
    PY,
    TIME,
    Inputs,
    Run,
    interleave,
    med,
    mib,
    show,
    spread,
)


class CpuRun(Run):
    def __init__(self, wall: float, rss_kib: int | None, code: int, cpu: float | None) -> None:
        super().__init__(wall, rss_kib, code)
        self.cpu = cpu


def run(cmd: list[str], *, stdin: str | bytes | None = None, stdout: str | None = None) -> CpuRun:
    """Wall time, and from /usr/bin/time peak RSS and CPU seconds (user + system, all threads): on a machine
    with more runnable processes than cores, CPU time is the steadier measure of the work done."""
    fd, report_name = tempfile.mkstemp(prefix="flm-bench-time-")
    os.close(fd)
    report = Path(report_name)
    full = [TIME, "-f", "%M %U %S", "-o", report_name, *cmd] if TIME else list(cmd)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(stdout, "wb")) if stdout else subprocess.DEVNULL
        source = stack.enter_context(open(stdin, "rb")) if isinstance(stdin, str) else None
        start = time.perf_counter()
        if source is not None:
            proc = subprocess.run(full, check=False, stdin=source, stdout=out, stderr=subprocess.PIPE)
        else:
            proc = subprocess.run(full, check=False, input=stdin or b"", stdout=out, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
    rss = cpu = None
    if TIME:
        fields = report.read_text().strip().splitlines()[-1:]
        parts = fields[0].split() if fields else []
        if len(parts) == 3:
            rss, cpu = int(parts[0]), float(parts[1]) + float(parts[2])
    report.unlink()
    if proc.returncode != 0:
        print(f"    ! exit {proc.returncode}: {' '.join(map(str, cmd))}\n      {proc.stderr.decode()[-400:]}")
    return CpuRun(wall, rss, proc.returncode, cpu)

SECTIONS = ("ndjson", "json", "csv", "parquet", "rss", "threads", "stages", "filestages", "timeline", "latency", "blas",
            "nativereads")

# flm as it was before the Arrow paths: the row-by-row NDJSON and JSON readers, rows given to the model as Python
# objects, NDJSON lines encoded value by value, 16k-row batches. Same flm, same model, all switched back.
BEFORE = """
import sys
import flmcli.features, flmcli.job, flmcli.formats.ndjson as ndjson, flmcli.formats.ndjson_arrow as ndjson_arrow
import flmcli.formats.json_array as json_array
ndjson_arrow.read = ndjson.read
json_array.read_typed = json_array.read
flmcli.job.TYPED_BATCH_SIZE = 16384
flmcli.features.NUMERIC_COLUMNS = False
ndjson.numeric_lines = lambda outputs: None
from flmcli.cli import main
sys.argv = ["flm", *sys.argv[1:]]
main()
"""

# flm with NDJSON objects parsed by Arrow's JSON reader, as before json_columns.parse_objects (flat lines with the
# same keys through Arrow's CSV reader): same flm otherwise.
ARROW_JSON = """
import sys
import flmcli.formats.json_columns as json_columns
json_columns.parse_objects = lambda text, lines: None
from flmcli.cli import main
sys.argv = ["flm", *sys.argv[1:]]
main()
"""

# flm with columnar inputs' strings given to the model as pandas builds them (Arrow-backed), as before
# features._object_strings: same flm otherwise.
PANDAS_STRINGS = """
import sys
import flmcli.features
flmcli.features._object_strings = lambda table, frame, *dictionaries: frame
from flmcli.cli import main
sys.argv = ["flm", *sys.argv[1:]]
main()
"""

# What someone would write for a JSON array of arrays: orjson, numpy, the estimator, orjson.
HAND_WRITTEN_JSON = """
import sys
import numpy as np, orjson, pandas as pd
import flmcli

source, target, batch_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = flmcli.load(sys.argv[4]).estimator
names = [str(n) for n in model.feature_names_in_]
with open(source, "rb") as fp:
    rows = orjson.loads(fp.read())
out = []
for i in range(0, len(rows), batch_size):
    X = pd.DataFrame(np.array(rows[i : i + batch_size], dtype=object), columns=names)
    out.extend(model.predict(X).tolist())
with open(target, "wb") as fp:
    fp.write(orjson.dumps(out) + b"\\n")
"""


# A command prefix: the script's BLAS on one thread, as flm's is on 2 cores.
ONE_BLAS_THREAD = ["env", "OPENBLAS_NUM_THREADS=1"]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def cpu_of(runs: list[Run]) -> float | None:
    cpus = [r.cpu for r in runs if isinstance(r, CpuRun) and r.cpu is not None]
    return med(cpus) if cpus else None


def timed(name: str, results: dict[str, list[Run]], loads: dict[str, list[float]], rows: int) -> str:
    walls = [r.wall for r in results[name]]
    cpu = cpu_of(results[name])
    cpu_text = f"  cpu {cpu:.2f} s ({rows / cpu:,.0f} rows/cpu-s)" if cpu else ""
    return (f"  {name:22} {rows / med(walls):>9,.0f} rows/s  {spread(walls)}{cpu_text}  "
            f"peak {mib(results[name][0].rss_kib)}  (1-min load at each run: {', '.join(f'{x:.1f}' for x in loads[name])})")


def ratios(label: str, results: dict[str, list[Run]], base: str, names: list[str], target: str) -> None:
    """Throughput ratios against `base` by wall time and by CPU time."""
    for name in names:
        wall = med([r.wall for r in results[base]]) / med([r.wall for r in results[name]])
        cpu_base, cpu = cpu_of(results[base]), cpu_of(results[name])
        by_cpu = f", {cpu_base / cpu:.2f}x by CPU time" if cpu_base and cpu else ""
        print(f"  {name} / {label}: {wall:.2f}x by wall time{by_cpu} (target {target})")


def interleave_loaded(cases: dict[str, Callable[[], Run]], repeat: int) -> tuple[dict[str, list[Run]], dict[str, list[float]]]:
    loads: dict[str, list[float]] = {name: [] for name in cases}

    def with_load(name: str, case: Callable[[], Run]) -> Callable[[], Run]:
        def measured() -> Run:
            loads[name].append(os.getloadavg()[0])
            return case()
        return measured

    results = interleave({name: with_load(name, case) for name, case in cases.items()}, repeat)
    return results, loads


def run_commands(commands: dict[str, tuple[list[str], Path | None]], rows: int, repeat: int) -> dict[str, list[Run]]:
    """Each command (stdout to its file, or discarded) in interleaved rounds; its figures and command line."""
    results, loads = interleave_loaded(
        {name: (lambda cmd=cmd, out=out: run(cmd, stdout=str(out) if out else None)) for name, (cmd, out) in
         commands.items()}, repeat)
    for name, (cmd, out) in commands.items():
        print(timed(name, results, loads, rows))
        print(f"        $ {show(cmd, stdout=str(out) if out else None)}")
    return results


def bench_ndjson(inputs: Inputs, tmp: Path, rows: int, repeat: int) -> None:
    print(f"\n== NDJSON object rows, {rows:,} churn rows, {repeat} interleaved rounds ({load()}) ==")
    source = inputs.ndjson(rows)
    (tmp / "hand.py").write_text(HAND_WRITTEN)
    (tmp / "before.py").write_text(BEFORE)
    (tmp / "arrow_json.py").write_text(ARROW_JSON)
    commands = {
        "flm (Arrow)": ([FLM, "predict", str(MODEL), str(source)], tmp / "arrow.ndjson"),
        "flm, Arrow JSON reader": ([PY, str(tmp / "arrow_json.py"), "predict", str(MODEL), str(source)],
                                   tmp / "arrow_json.ndjson"),
        "flm (Arrow) 16k": ([FLM, "predict", str(MODEL), str(source), "--batch-size", "16384"], tmp / "arrow16.ndjson"),
        "flm before": ([PY, str(tmp / "before.py"), "predict", str(MODEL), str(source)], tmp / "rows.ndjson"),
        "hand-written 16k": ([PY, str(tmp / "hand.py"), str(source), str(tmp / "hand.ndjson"), "16384", str(MODEL)], None),
        "hand-written 64k": ([PY, str(tmp / "hand.py"), str(source), str(tmp / "hand64.ndjson"), "65536", str(MODEL)],
                             None),
        # flm gives BLAS one thread on 2 cores (job._model_threads): the script with the same setting, for scale.
        "hand-written 64k 1BLAS": ([*ONE_BLAS_THREAD, PY, str(tmp / "hand.py"), str(source),
                                    str(tmp / "hand64b.ndjson"), "65536", str(MODEL)], None),
    }
    results = run_commands(commands, rows, repeat)
    outputs = [tmp / n for n in ("arrow.ndjson", "arrow_json.ndjson", "arrow16.ndjson", "rows.ndjson", "hand.ndjson",
                                 "hand64.ndjson", "hand64b.ndjson")]
    same = len({p.read_bytes() for p in outputs}) == 1
    walls = {name: med([r.wall for r in runs]) for name, runs in results.items()}
    hand = "hand-written 16k" if walls["hand-written 16k"] <= walls["hand-written 64k"] else "hand-written 64k"
    ratios(f"the faster hand-written ({hand})", results, hand,
           ["flm (Arrow)", "flm, Arrow JSON reader", "flm (Arrow) 16k", "flm before"], ">= 2x")
    ratios("hand-written 64k with one BLAS thread", results, "hand-written 64k 1BLAS", ["flm (Arrow)"],
           "not the target: for scale")
    print(f"  all {len(outputs)} outputs byte-identical: {same}")


def bench_json(inputs: Inputs, tmp: Path, rows: int, repeat: int) -> None:
    print(f"\n== JSON array of arrays, {rows:,} churn rows, {repeat} interleaved rounds ({load()}) ==")
    source = inputs.json_array(rows)
    (tmp / "hand_json.py").write_text(HAND_WRITTEN_JSON)
    (tmp / "before.py").write_text(BEFORE)
    commands = {
        "flm": ([FLM, "predict", str(MODEL), str(source)], tmp / "flm.json"),
        "flm 16k": ([FLM, "predict", str(MODEL), str(source), "--batch-size", "16384"], tmp / "flm16.json"),
        "flm before": ([PY, str(tmp / "before.py"), "predict", str(MODEL), str(source)], tmp / "before.json"),
        "hand-written": ([PY, str(tmp / "hand_json.py"), str(source), str(tmp / "hand.json"), "16384", str(MODEL)],
                         None),
        "hand-written 1BLAS": ([*ONE_BLAS_THREAD, PY, str(tmp / "hand_json.py"), str(source), str(tmp / "handb.json"),
                                "16384", str(MODEL)], None),
    }
    results = run_commands(commands, rows, repeat)
    same = len({(tmp / n).read_bytes() for n in ("flm.json", "flm16.json", "before.json", "hand.json",
                                                 "handb.json")}) == 1
    ratios("hand-written", results, "hand-written", ["flm", "flm 16k", "flm before"], ">= 2x")
    ratios("hand-written with one BLAS thread", results, "hand-written 1BLAS", ["flm"], "not the target: for scale")
    print(f"  same bytes: {same}")


def bench_columnar_file(inputs: Inputs, tmp: Path, fmt: str, rows: int, repeat: int) -> None:
    """`flm predict` end to end vs the model alone, net of flm's start-up. The model alone is timed on frames
    held in memory, as many rows a call as flm: the frame pandas reads (`pd.read_csv`/`pd.read_parquet`: pandas'
    Arrow-backed strings) and the frame flm builds for the model (`flmcli.features.from_table` on the same rows:
    strings as Python objects), BLAS at its default and at flm's (one thread less than the cores). Ratios are
    taken against the fastest of these, by wall and by CPU time: flm is never compared with a slower baseline
    than the model can give."""
    import pandas as pd
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    import flmcli
    from flmcli import features
    from flmcli.batch import Batch
    from flmcli.formats import get

    print(f"\n== {fmt} in/out, {rows:,} churn rows, {repeat} interleaved rounds ({load()}) ==")
    source = inputs.parquet(rows)
    if fmt == "csv":
        csv_source = tmp / f"rows-{rows}.csv"
        if not csv_source.exists():
            pacsv.write_csv(pq.read_table(source), csv_source)
        source = csv_source
    out = tmp / f"out.{fmt}"
    cmd = [FLM, "predict", str(MODEL), str(source), "-o", str(out)]
    estimator = flmcli.load(MODEL).estimator
    spec = features.spec_for(estimator)
    names = [str(n) for n in estimator.feature_names_in_]
    frame = (pd.read_parquet(source) if fmt == "parquet" else pd.read_csv(source))[names]
    batch = get(fmt).batch_size  # what flm predict uses without --batch-size
    table = pacsv.read_csv(source) if fmt == "csv" else pq.read_table(source)

    def flm_frames() -> list[Any]:
        return [features.from_table(Batch(source=str(source), table=table.slice(i, batch)), spec)
                for i in range(0, table.num_rows, batch)]

    def pandas_frames() -> list[Any]:
        return [frame.iloc[i : i + batch].copy() for i in range(0, len(frame), batch)]

    def alone(frames: Callable[[], list[Any]], blas: int | None) -> Callable[[], Run]:
        """The model on frames in memory, made afresh before each run and not timed (Python strings a run
        hashed would be faster the next time); CPU seconds of this process, which does nothing else meanwhile.
        `blas`: BLAS threads (flm predict leaves one core to its reader), None for BLAS's default."""
        from threadpoolctl import threadpool_limits

        def measured() -> Run:
            made = frames()
            with threadpool_limits(limits=blas, user_api="blas"):
                start, cpu = time.perf_counter(), time.process_time()
                for X in made:
                    estimator.predict(X)
                return CpuRun(time.perf_counter() - start, None, 0, time.process_time() - cpu)
        return measured

    # Start-up: one row of the same format, from a file to a file, as the big run (its imports, reader, writer).
    one_row = tmp / f"one-row.{fmt}"
    if fmt == "csv":
        pacsv.write_csv(pacsv.read_csv(source).slice(0, 1), one_row)
    else:
        pq.write_table(pq.read_table(source).slice(0, 1), one_row)
    start_cmd = [FLM, "predict", str(MODEL), str(one_row), "-o", str(tmp / f"one-out.{fmt}")]
    one = max(1, (os.cpu_count() or 2) - 1)
    alone_cases = {
        "model alone, pandas' frame": alone(pandas_frames, None),
        f"model alone, pandas' frame, BLAS {one}": alone(pandas_frames, one),
        "model alone, flm's frame": alone(flm_frames, None),
        f"model alone, flm's frame, BLAS {one}": alone(flm_frames, one),
    }
    (tmp / "pandas_strings.py").write_text(PANDAS_STRINGS)
    before = [PY, str(tmp / "pandas_strings.py"), *cmd[1:-1], str(tmp / f"before.{fmt}")]
    cases: dict[str, Callable[[], Run]] = {"flm": lambda: run(cmd), "flm, pandas' strings": lambda: run(before),
                                           **alone_cases,
                                           "start-up": lambda: run(start_cmd)}
    results, loads = interleave_loaded(cases, repeat)
    print(timed("flm", results, loads, rows))
    print(f"        $ {show(cmd)}")
    print(timed("flm, pandas' strings", results, loads, rows))
    print(f"        $ {show(before)}   (script: PANDAS_STRINGS in this file)")
    same = out.read_bytes() == (tmp / f"before.{fmt}").read_bytes()
    print(f"  same bytes out: {same}")
    for name in alone_cases:
        how = (f"df = pd.read_{fmt}(...); estimator.predict(df.iloc[i:i+{batch}])" if "pandas" in name else
               f"estimator.predict(X) for X = flmcli.features.from_table(...) of each {batch}-row slice")
        print(timed(name, results, loads, rows) + f"  ({how}, in memory)")
    walls = {name: med([r.wall for r in runs]) for name, runs in results.items()}
    cpus = {name: cpu_of(runs) for name, runs in results.items()}
    print(f"  start-up (one row, same format: $ {show(start_cmd)}): {spread([r.wall for r in results['start-up']])}"
          + (f"  cpu {cpus['start-up']:.2f} s" if cpus["start-up"] else ""))
    # Against the fastest model-alone case, by each measure: never a slower baseline than the model can give.
    base = min(alone_cases, key=lambda name: walls[name])
    timed_cpus = {name: cpus[name] for name in alone_cases if cpus[name]}
    for who in ("flm", "flm, pandas' strings"):
        net = walls[who] - walls["start-up"]
        print(f"  {base} / {who}: {walls[base] / walls[who]:.2f}x end to end; "
              f"{walls[base] / net:.2f}x net of start-up (target >= 0.7x)")
        if cpus[who] and cpus["start-up"] and timed_cpus:
            cpu_base = min(timed_cpus, key=lambda name: timed_cpus[name])
            net_cpu = cpus[who] - cpus["start-up"]  # type: ignore[operator]
            print(f"    by CPU time, {cpu_base} / {who}: {timed_cpus[cpu_base] / net_cpu:.2f}x net of start-up "
                  f"({who} {net_cpu:.2f} CPU s net, all threads)")


def bench_rss(inputs: Inputs, tmp: Path, small: int, big: int) -> None:
    print(f"\n== peak RSS, {small:,} vs {big:,} rows, one run each ({load()}) ==")
    if TIME is None:
        print("  /usr/bin/time not found: skipped")
        return
    for fmt in ("ndjson", "csv"):
        figures = []
        for rows in (small, big):
            if fmt == "ndjson":
                source = inputs.ndjson(rows)
            else:
                import pyarrow.csv as pacsv
                import pyarrow.parquet as pq

                source = tmp / f"rss-{rows}.csv"
                parquet = inputs.parquet(rows)
                with pacsv.CSVWriter(source, pq.ParquetFile(parquet).schema_arrow) as writer:
                    for part in pq.ParquetFile(parquet).iter_batches(1 << 16):
                        writer.write_batch(part)
                inputs.made.pop(("parquet", rows)).unlink()
            cmd = [FLM, "predict", str(MODEL), str(source)]
            result = run(cmd, stdout=str(tmp / "rss.out"))
            figures.append(result)
            print(f"  {fmt:7} {rows:>11,} rows  peak {mib(result.rss_kib):>8}  {result.wall:7.1f} s  "
                  f"{rows / result.wall:>9,.0f} rows/s  ({load()})  $ /usr/bin/time -f %M {show(cmd)} > out")
            (tmp / "rss.out").unlink(missing_ok=True)
            if rows == big:
                source.unlink()
                inputs.made.pop((fmt, rows), None)
        if figures[0].rss_kib and figures[1].rss_kib:
            print(f"  {fmt:7} peak RSS {big:,} / {small:,} rows: {figures[1].rss_kib / figures[0].rss_kib:.2f}x")


THREADS = """
import sys, time
import flmcli
from flmcli.formats import json_array, json_columns, ndjson_arrow
from flmcli.job import TYPED_BATCH_SIZE, _model_threads
from flmcli.predictor import Predictor
from flmcli.prefetch import prefetch

source, threads, ahead, parse_only = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1", sys.argv[4] == "1"
ndjson_arrow.USE_THREADS = json_columns.USE_THREADS = json_columns.ARRAY_USE_THREADS = threads
predictor = Predictor(flmcli.load(sys.argv[5]))
read = ndjson_arrow.read if source.endswith(".ndjson") else json_array.read_typed
start, cpu = time.perf_counter(), time.process_time()
waited = 0.0  # the main thread waiting for the reader's next batch: the part of parsing the model did not hide
with open(source, "rb") as fp, _model_threads():  # BLAS threads as `flm predict` sets them
    batches = iter(read(fp, source=source, batch_size=TYPED_BATCH_SIZE))
    if ahead:
        batches = prefetch(batches)
    rows = 0
    while True:
        asked = time.perf_counter()
        batch = next(batches, None)
        waited += time.perf_counter() - asked
        if batch is None:
            break
        rows += len(batch) if parse_only else len(predictor.score(batch).batch)
print(rows, time.perf_counter() - start, time.process_time() - cpu, waited)
"""


def bench_threads(inputs: Inputs, tmp: Path, rows: int, repeat: int) -> None:
    script = tmp / "threads.py"
    script.write_text(THREADS)
    for kind, source in (("NDJSON objects", inputs.ndjson(rows)), ("JSON arrays", inputs.json_array(rows))):
        print(f"\n== threads: {kind} reader + model in one process, {rows:,} rows, {repeat} interleaved rounds "
              f"({load()}) ==")

        def case(threads: int, ahead: int, parse_only: int, source: Path = source) -> Callable[[], Run]:
            def measured() -> Run:
                proc = subprocess.run([PY, str(script), str(source), str(threads), str(ahead), str(parse_only),
                                       str(MODEL)], check=False, capture_output=True, text=True)
                if proc.returncode:
                    print(proc.stderr[-400:])
                    return CpuRun(float("nan"), None, proc.returncode, None)
                _, wall, cpu, waited = proc.stdout.split()
                run = CpuRun(float(wall), None, 0, float(cpu))
                run.waited = float(waited)  # type: ignore[attr-defined]
                return run
            return measured

        cases = {
            "parse only, arrow threads on": case(1, 0, 1),
            "parse only, arrow threads off": case(0, 0, 1),
            "arrow threads on,  read-ahead on": case(1, 1, 0),
            "arrow threads off, read-ahead on": case(0, 1, 0),
            "arrow threads on,  read-ahead off": case(1, 0, 0),
            "arrow threads off, read-ahead off": case(0, 0, 0),
        }
        results, loads = interleave_loaded(cases, repeat)
        for name in cases:
            walls = [r.wall for r in results[name]]
            cpu = cpu_of(results[name])
            waits = [getattr(r, "waited", float("nan")) for r in results[name]]
            print(f"  {name:36} {rows / med(walls):>9,.0f} rows/s  {spread(walls)}  cpu {cpu or float('nan'):.2f} s  "
                  f"main thread waiting for a batch {med(waits):.2f} s  (load: {', '.join(f'{x:.1f}' for x in loads[name])})")
        print(f"  $ {PY} <script> {source} THREADS AHEAD PARSE_ONLY {MODEL}   (script in this file: THREADS)")


STAGES = """
import sys, time
start = time.process_time()
import numpy as np, orjson, pandas as pd
import flmcli
from flmcli import features as feat
from flmcli.formats import json_array, json_columns, ndjson, ndjson_arrow
from flmcli.job import TYPED_BATCH_SIZE, _model_threads
from flmcli.predictor import Predictor

source, model, who = sys.argv[1], sys.argv[2], sys.argv[3]
ndjson_arrow.USE_THREADS = json_columns.USE_THREADS = json_columns.ARRAY_USE_THREADS = False  # every stage's CPU on this thread, one at a time
predictor = Predictor(flmcli.load(model))
cost = {"start-up": time.process_time() - start}
clock = time.process_time


def add(stage, since):
    now = clock()
    cost[stage] = cost.get(stage, 0.0) + now - since
    return now


rows = 0
is_ndjson = source.endswith(".ndjson")
if who == "flm":
    read = ndjson_arrow.read if is_ndjson else json_array.read_typed
    encode = ndjson.encode if is_ndjson else json_array.encode
    with open(source, "rb") as fp, _model_threads():  # BLAS threads as `flm predict` sets them
        batches = iter(read(fp, source=source, batch_size=TYPED_BATCH_SIZE))
        t = clock()
        for batch in batches:
            t = add("parse", t)
            assert batch.table is not None and feat.table_fits(batch, predictor.spec)
            X = feat.text_table_input(batch, predictor.spec)
            t = add("features", t)
            y = predictor.call(X)
            t = add("model", t)
            scored = predictor._assemble(batch, list(range(len(batch))), y, {}, "predict")
            t = add("outputs", t)
            for _ in encode([scored]):
                pass
            t = add("encode", t)
            rows += len(batch)
else:  # the hand-written scripts' steps (bench_predict.HAND_WRITTEN, HAND_WRITTEN_JSON), 16k rows a call
    estimator = predictor.estimator
    names = [str(n) for n in estimator.feature_names_in_]
    size = 16384
    with open(source, "rb") as fp:
        t = clock()
        if is_ndjson:
            decoded = [orjson.loads(line) for line in fp]
            t = add("parse", t)
            values = [[row[n] for n in names] for row in decoded]
            t = add("features", t)
        else:
            values = orjson.loads(fp.read())
            t = add("parse", t)
        for i in range(0, len(values), size):
            X = pd.DataFrame(np.array(values[i : i + size], dtype=object), columns=names)
            t = add("features", t)
            y = estimator.predict(X)
            t = add("model", t)
            if is_ndjson:
                b"".join(orjson.dumps({"prediction": v}) + b"\\n" for v in y.tolist())
            else:
                orjson.dumps(y.tolist())
            t = add("encode", t)
            rows += len(y)
print(orjson.dumps({"rows": rows, **cost}).decode())
"""


def bench_stages(inputs: Inputs, tmp: Path, rows: int, repeat: int) -> None:
    """CPU seconds of each stage, one at a time on one thread (Arrow's threads off): where the time goes."""
    import json

    script = tmp / "stages.py"
    script.write_text(STAGES)
    for kind, source in (("NDJSON objects", inputs.ndjson(rows)), ("JSON arrays", inputs.json_array(rows))):
        print(f"\n== stages: {kind}, {rows:,} rows, CPU seconds one stage at a time, median of {repeat} ({load()}) ==")
        figures: dict[str, list[dict[str, float]]] = {"flm": [], "hand-written": []}
        loads: list[float] = []
        for _ in range(repeat):
            for who in figures:
                loads.append(os.getloadavg()[0])
                proc = subprocess.run([PY, str(script), str(source), str(MODEL), "flm" if who == "flm" else "hand"],
                                      check=False, capture_output=True, text=True)
                if proc.returncode:
                    print(proc.stderr[-400:])
                    continue
                figures[who].append(json.loads(proc.stdout))
        for who, runs in figures.items():
            if not runs:
                continue
            stages = [k for k in runs[0] if k != "rows"]
            medians = {k: med([r[k] for r in runs]) for k in stages}
            total = sum(medians.values())
            print(f"  {who:13} " + ", ".join(f"{k} {v:.2f}" for k, v in medians.items()) +
                  f"; total {total:.2f} s, {total - medians['start-up']:.2f} s net of start-up")
        print(f"  (1-min load at each run: {', '.join(f'{x:.1f}' for x in loads)})")
        print(f"  $ {PY} <script> {source} {MODEL} flm|hand   (script in this file: STAGES)")


FILE_STAGES = """
import io, sys, time
import flmcli
from flmcli import features as feat, formats
from flmcli.job import Job, _model_threads
from flmcli.options import PredictOptions
from flmcli.predictor import Predictor

source, fmt, model = sys.argv[1], sys.argv[2], sys.argv[3]
predictor = Predictor(flmcli.load(model))
read, encode = formats.reader(fmt), formats.encoder(fmt)
size = formats.get(fmt).batch_size
clock = time.process_time
cost = {}


def add(stage, since):
    now = clock()
    cost[stage] = cost.get(stage, 0.0) + now - since
    return now


frames = []
with open(source, "rb") as fp, _model_threads():
    batches = iter(read(fp, source=source, batch_size=size))
    t = clock()
    for batch in batches:  # pyarrow's CSV reader reads ahead on a thread of its own: clock() counts every thread
        t = add("read", t)
        X = feat.from_table(batch, predictor.spec)
        t = add("features", t)
        y = predictor.call(X)
        t = add("model", t)
        scored = predictor._assemble(batch, list(range(len(batch))), y, {}, "predict")
        t = add("outputs", t)
        for _ in encode([scored]):
            pass
        t = add("encode", t)
        frames.append(X)
# flm's pipeline (reader thread, features made on it, model on this thread, writer), the model already loaded
with formats.open_input(source) as opened:
    wall, cpu, main = time.perf_counter(), clock(), time.thread_time()
    Job(predictor, PredictOptions()).write([opened], io.BytesIO(), fmt)
    wall, cpu, main = time.perf_counter() - wall, clock() - cpu, time.thread_time() - main
with _model_threads():
    alone, alone_cpu = time.perf_counter(), clock()
    for X in frames:
        predictor.estimator.predict(X)
    alone, alone_cpu = time.perf_counter() - alone, clock() - alone_cpu
print(" ".join(f"{k}={v}" for k, v in {**cost, "pipeline_wall": wall, "pipeline_cpu": cpu, "pipeline_main": main,
                                        "alone_wall": alone, "alone_cpu": alone_cpu}.items()))
"""


def _files(inputs: Inputs, tmp: Path, rows: int) -> tuple[Path, Path]:
    """The Parquet input of `rows` churn rows, and the same rows as CSV (written once)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    parquet = inputs.parquet(rows)
    csv = tmp / f"rows-{rows}.csv"
    if not csv.exists():
        pacsv.write_csv(pq.read_table(parquet), csv)
    return parquet, csv


def bench_file_stages(inputs: Inputs, tmp: Path, rows: int, repeat: int) -> None:
    """CPU seconds of each stage of CSV and Parquet scoring, one at a time; then the pipeline, model loaded."""
    import statistics

    script = tmp / "file_stages.py"
    script.write_text(FILE_STAGES)
    parquet, csv = _files(inputs, tmp, rows)
    for fmt, source in (("csv", csv), ("parquet", parquet)):
        print(f"\n== stages: {fmt}, {rows:,} rows, CPU seconds, median of {repeat} ({load()}) ==")
        runs: list[dict[str, float]] = []
        loads: list[float] = []
        for _ in range(repeat):
            loads.append(os.getloadavg()[0])
            proc = subprocess.run([PY, str(script), str(source), fmt, str(MODEL)], check=False, capture_output=True,
                                  text=True)
            if proc.returncode:
                print(proc.stderr[-400:])
                continue
            runs.append({k: float(v) for k, v in (item.split("=") for item in proc.stdout.split())})
        if not runs:
            continue
        m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        stages = ("read", "features", "model", "outputs", "encode")
        print("  one at a time: " + ", ".join(f"{k} {m[k]:.2f}" for k in stages) +
              f"; total {sum(m[k] for k in stages):.2f} CPU s")
        print(f"  pipeline (model loaded): wall {m['pipeline_wall']:.2f} s, CPU {m['pipeline_cpu']:.2f} s of which "
              f"main thread {m['pipeline_main']:.2f} s, others {m['pipeline_cpu'] - m['pipeline_main']:.2f} s")
        print(f"  model alone on the same frames: wall {m['alone_wall']:.2f} s, CPU {m['alone_cpu']:.2f} s; "
              f"model alone / pipeline: {m['alone_wall'] / m['pipeline_wall']:.2f}x by wall, "
              f"{m['alone_cpu'] / m['pipeline_cpu']:.2f}x by CPU")
        print(f"  (1-min load at each run: {', '.join(f'{x:.1f}' for x in loads)})")
        print(f"  $ {PY} <script> {source} {fmt} {MODEL}   (script in this file: FILE_STAGES)")


# `flm predict` as the command runs it, with its steps timed from inside: the model's load (Predictor.from_options),
# each model call (Predictor.call, wall and the main thread's CPU), the reader thread's CPU; one JSON line on stderr.
TIMELINE = """
import json, os, sys, threading, time
import flmcli.cli as cli, flmcli.job as job, flmcli.predictor as predictor

start = time.perf_counter()
marks = {"calls": []}
reader = {}


def since():
    return time.perf_counter() - start


loading = predictor.Predictor.from_options.__func__


def from_options(cls, *args, **kwargs):
    marks["load"] = (since(), time.thread_time())
    try:
        return loading(cls, *args, **kwargs)
    finally:
        marks["loaded"] = (since(), time.thread_time())
        reader["cpu_loading"] = thread_cpu(reader["tid"]) if "tid" in reader else 0.0


predictor.Predictor.from_options = classmethod(from_options)
calling = predictor.Predictor.call


def call(self, X, method=None):
    began = (since(), time.thread_time())
    try:
        return calling(self, X, method)
    finally:
        marks["calls"].append((*began, since(), time.thread_time()))


predictor.Predictor.call = call
batches = job.Job._input_batches
preparing = job.Job._prepare


def on_reader():
    # the reader thread's CPU so far (it has ended by exit: counted as it goes)
    reader["cpu"] = time.thread_time()


def thread_cpu(tid):
    # another thread's CPU seconds, from /proc (Linux), while it runs
    try:
        with open(f"/proc/self/task/{tid}/stat") as fp:
            fields = fp.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def input_batches(self, inputs):
    reader["tid"] = threading.get_native_id()
    for batch in batches(self, inputs):
        on_reader()
        yield batch
    on_reader()


def prepare(self, batch):
    preparing(self, batch)
    on_reader()


job.Job._input_batches = input_batches
job.Job._prepare = prepare
leaving = cli._exit


def exit_(code):
    times = os.times()
    calls = marks["calls"]
    load, loaded = marks.get("load"), marks.get("loaded")
    if calls and load and loaded:
        figures = {
            "load": loaded[0] - load[0], "load_cpu": loaded[1] - load[1], "first_wait": calls[0][0] - loaded[0],
            "calls": sum(c[2] - c[0] for c in calls), "calls_cpu": sum(c[3] - c[1] for c in calls),
            "between": sum(b[0] - a[2] for a, b in zip(calls, calls[1:])), "tail": since() - calls[-1][2],
            "to_load": load[0], "at_exit": since(), "cpu": times.user + times.system, "main_cpu": time.thread_time(),
            "reader_cpu": reader.get("cpu", 0.0), "reader_cpu_loading": reader.get("cpu_loading", 0.0),
        }
        print("TIMELINE " + json.dumps(figures), file=sys.stderr)
    leaving(code)


cli._exit = exit_
sys.argv = ["flm", *sys.argv[1:]]
cli.main()
"""


def bench_timeline(inputs: Inputs, tmp: Path, rows: int, repeat: int) -> None:
    """`flm predict` of `rows` rows against one row, CSV and Parquet, timed from inside each run."""
    import json
    import statistics

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    script = tmp / "timeline.py"
    script.write_text(TIMELINE)
    parquet, csv = _files(inputs, tmp, rows)
    for fmt, source in (("csv", csv), ("parquet", parquet)):
        one = tmp / f"timeline-one.{fmt}"
        if fmt == "csv":
            pacsv.write_csv(pacsv.read_csv(source).slice(0, 1), one)
        else:
            pq.write_table(pq.read_table(source).slice(0, 1), one)
        print(f"\n== timeline: {fmt}, {rows:,} rows vs one row, {repeat} interleaved rounds ({load()}) ==")
        runs: dict[str, list[dict[str, float]]] = {"many": [], "one": []}
        walls: dict[str, list[float]] = {"many": [], "one": []}
        loads: list[float] = []
        for _ in range(repeat):
            for kind, path in (("many", source), ("one", one)):
                loads.append(os.getloadavg()[0])
                began = time.perf_counter()
                proc = subprocess.run([PY, str(script), "predict", str(MODEL), str(path), "-o", str(tmp / f"t-out.{fmt}")],
                                      check=False, capture_output=True, text=True, env={**os.environ, "FLM_WARM": "0"})
                wall = time.perf_counter() - began
                line = [text for text in proc.stderr.splitlines() if text.startswith("TIMELINE ")]
                if proc.returncode or not line:
                    print(f"  ! exit {proc.returncode}: {proc.stderr[-400:]}")
                    continue
                runs[kind].append(json.loads(line[-1][len("TIMELINE "):]))
                walls[kind].append(wall)
        if not runs["many"] or not runs["one"]:
            continue
        m = {kind: {key: statistics.median(r[key] for r in found) for key in found[0]}
             for kind, found in runs.items()}
        wall = {kind: statistics.median(values) for kind, values in walls.items()}
        many, single = m["many"], m["one"]
        print(f"  whole run (wall): {wall['many']:.3f} s vs {wall['one']:.3f} s for one row: {wall['many'] - wall['one']:.3f} s "
              f"net of start-up; CPU (all threads) {many['cpu']:.2f} vs {single['cpu']:.2f} s: "
              f"{many['cpu'] - single['cpu']:.2f} s net")
        print(f"  model load (wall): {many['load']:.3f} vs {single['load']:.3f} s ({many['load'] - single['load']:+.3f}); "
              f"main thread's CPU meanwhile {many['load_cpu']:.3f} vs {single['load_cpu']:.3f} s "
              f"({many['load_cpu'] - single['load_cpu']:+.3f}): the reader parsing beside the load")
        print(f"  from the script's start to the load: {many['to_load']:.3f} vs {single['to_load']:.3f} s; from flm's "
              f"exit to the process's end (and Python's start-up before the script): "
              f"{wall['many'] - many['at_exit']:.3f} vs {wall['one'] - single['at_exit']:.3f} s")
        print(f"  first batch waited for after the load: {many['first_wait']:.3f} vs {single['first_wait']:.3f} s")
        print(f"  model calls: wall {many['calls']:.3f} s, main thread's CPU {many['calls_cpu']:.3f} s "
              f"(off CPU or waiting for the GIL: {many['calls'] - many['calls_cpu']:.3f} s); one row: "
              f"{single['calls']:.3f} s")
        print(f"  main thread between calls (waiting for the next batch, writing the last): {many['between']:.3f} s; "
              f"after the last call to exit: {many['tail']:.3f} vs {single['tail']:.3f} s")
        print(f"  CPU by thread: main {many['main_cpu']:.2f} vs {single['main_cpu']:.2f} s; reader {many['reader_cpu']:.2f} "
              f"vs {single['reader_cpu']:.2f} s (while the model loaded: {many['reader_cpu_loading']:.2f} vs "
              f"{single['reader_cpu_loading']:.2f}); the others (Arrow's read-ahead, which runs the CSV reader's reads; BLAS; the allocator) "
              f"{many['cpu'] - many['main_cpu'] - many['reader_cpu']:.2f} vs "
              f"{single['cpu'] - single['main_cpu'] - single['reader_cpu']:.2f} s")
        print(f"  (1-min load at each run: {', '.join(f'{x:.1f}' for x in loads)})")
        print(f"  $ FLM_WARM=0 {PY} <script> predict {MODEL} {source} -o OUT   (script in this file: TIMELINE)")


# flm whose first CSV reader (the one after the header, as flm opens it) reads a named regular file through Arrow's
# own file (pyarrow.OSFile: reads in C++ on Arrow's I/O thread, no GIL, no Python copies), 1 MiB blocks as
# csv_format's reads; _ShortReads is still made (its first reads infer the types) but no longer read. An upper bound
# for issue 11's first lever, not a reader: a value out of its column's type in a later block is not read again
# (nothing kept to find the block in), and Arrow's read-ahead is its fixed 32 blocks.
NATIVE_READS = """
import os, stat, sys
import pyarrow as pa
import pyarrow.csv as pacsv
from flmcli.formats import csv_format

opening = pacsv.open_csv


def open_csv(source, read_options=None, parse_options=None, convert_options=None, **kwargs):
    fp = getattr(source, "fp", None) if isinstance(source, csv_format._ShortReads) else None
    name = getattr(fp, "name", None)
    if (isinstance(name, str) and read_options is not None and not read_options.column_names
            and stat.S_ISREG(os.stat(name).st_mode) and fp.tell() > 0):
        read_options = pacsv.ReadOptions(block_size=csv_format.READ_SIZE, use_threads=False)
        return opening(pa.OSFile(name), read_options=read_options, parse_options=parse_options,
                       convert_options=convert_options, **kwargs)
    return opening(source, read_options=read_options, parse_options=parse_options, convert_options=convert_options,
                   **kwargs)


pacsv.open_csv = open_csv
from flmcli.cli import main
sys.argv = ["flm", *sys.argv[1:]]
main()
"""


def bench_native_reads(inputs: Inputs, tmp: Path, rows: int, repeat: int) -> None:
    """`flm predict` of `rows` CSV rows as is vs with Arrow reading the file natively (NATIVE_READS), interleaved,
    each net of its own one-row run."""
    import pyarrow.csv as pacsv

    script = tmp / "native_reads.py"
    script.write_text(NATIVE_READS)
    _, csv = _files(inputs, tmp, rows)
    one = tmp / "native-one.csv"
    pacsv.write_csv(pacsv.read_csv(csv).slice(0, 1), one)
    print(f"\n== CSV read by Arrow natively (upper bound), {rows:,} rows, {repeat} interleaved rounds ({load()}) ==")
    commands = {
        "flm": [FLM, "predict", str(MODEL), str(csv), "-o", str(tmp / "as-is.csv")],
        "flm, native reads": [PY, str(script), "predict", str(MODEL), str(csv), "-o", str(tmp / "native.csv")],
        "flm, one row": [FLM, "predict", str(MODEL), str(one), "-o", str(tmp / "as-is-one-out.csv")],
        "flm, native reads, one row": [PY, str(script), "predict", str(MODEL), str(one), "-o", str(tmp / "native-one-out.csv")],
    }
    results, loads = interleave_loaded({name: (lambda cmd=cmd: run(cmd)) for name, cmd in commands.items()}, repeat)
    for name, cmd in commands.items():
        print(timed(name, results, loads, 1 if "one row" in name else rows))
        print(f"        $ {show(cmd)}")
    for name in ("flm", "flm, native reads"):
        walls = [r.wall - o.wall for r, o in zip(results[name], results[f"{name}, one row"])]
        cpus = [r.cpu - o.cpu for r, o in zip(results[name], results[f"{name}, one row"])
                if isinstance(r, CpuRun) and isinstance(o, CpuRun) and r.cpu is not None and o.cpu is not None]
        cpu_text = f"; CPU net {med(cpus):.3f} s [{' '.join(f'{c:.2f}' for c in cpus)}]" if cpus else ""
        print(f"  {name}: wall net of its one-row run {med(walls):.3f} s [{' '.join(f'{w:.2f}' for w in walls)}]{cpu_text}")
    same = (tmp / "as-is.csv").read_bytes() == (tmp / "native.csv").read_bytes()
    print(f"  same bytes out: {same}")


BLAS = """
import sys, time
import flmcli
from threadpoolctl import threadpool_limits
from flmcli import features as feat
from flmcli.formats import ndjson_arrow
from flmcli.predictor import Predictor

source, limit = sys.argv[1], int(sys.argv[3])
predictor = Predictor(flmcli.load(sys.argv[2]))
with open(source, "rb") as fp:
    inputs = [feat.text_table_input(b, predictor.spec) for b in ndjson_arrow.read(fp, source=source, batch_size=65536)]
with threadpool_limits(limits=limit or None, user_api="blas"):
    start, cpu = time.perf_counter(), time.process_time()
    for X in inputs:
        predictor.call(X)
    print(time.perf_counter() - start, time.process_time() - cpu)
"""


def bench_blas(inputs: Inputs, tmp: Path, rows: int, repeat: int) -> None:
    script = tmp / "blas.py"
    script.write_text(BLAS)
    source = inputs.ndjson(rows)
    cores = len(os.sched_getaffinity(0))
    print(f"\n== BLAS threads: the model alone, {rows:,} rows in 64k calls, {repeat} interleaved rounds ({load()}) ==")

    def case(limit: int) -> Callable[[], Run]:
        def measured() -> Run:
            proc = subprocess.run([PY, str(script), str(source), str(MODEL), str(limit)], check=False,
                                  capture_output=True, text=True)
            if proc.returncode:
                print(proc.stderr[-400:])
                return CpuRun(float("nan"), None, proc.returncode, None)
            wall, cpu = proc.stdout.split()
            return CpuRun(float(wall), None, 0, float(cpu))
        return measured

    cases = {"BLAS threads as loaded": case(0), f"BLAS threads {max(1, cores - 1)} (flm)": case(max(1, cores - 1))}
    results, loads = interleave_loaded(cases, repeat)
    for name in cases:
        walls = [r.wall for r in results[name]]
        print(f"  {name:28} {rows / med(walls):>9,.0f} rows/s  {spread(walls)}  cpu {cpu_of(results[name]) or 0:.2f} s"
              f"  (load: {', '.join(f'{x:.1f}' for x in loads[name])})")
    print(f"  $ {PY} <script> {source} {MODEL} LIMIT   (script in this file: BLAS)")


def bench_latency(inputs: Inputs, tmp: Path, rounds: int, pause: float = 0.3) -> None:
    """One row written to a live `flm predict` pipe until its answer is read: the Arrow reader and flm before,
    both processes open at once and written to in turn, so the machine's load falls on both alike."""
    import statistics

    print(f"\n== live pipe: one row, {rounds} rows {pause} s apart, Arrow reader vs flm before ({load()}) ==")
    (tmp / "before.py").write_text(BEFORE)
    commands = {"flm (Arrow)": [FLM, "predict", str(MODEL)],
                "flm before": [PY, str(tmp / "before.py"), "predict", str(MODEL)]}
    row = inputs.one_row()
    procs = {name: subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
             for name, cmd in commands.items()}
    waits: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for proc in procs.values():  # the first row pays for loading the model: not counted
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(row)
            proc.stdout.readline()
        for _ in range(rounds):
            for name, proc in procs.items():
                assert proc.stdin is not None and proc.stdout is not None
                time.sleep(pause)
                start = time.perf_counter()
                proc.stdin.write(row)
                proc.stdout.readline()
                waits[name].append((time.perf_counter() - start) * 1e3)
    finally:
        for proc in procs.values():
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=60)
            if proc.stdout is not None:
                proc.stdout.close()
    for name, cmd in commands.items():
        values = sorted(waits[name])
        print(f"  {name:12} row written -> answer read: median {statistics.median(values):.1f} ms, "
              f"p90 {values[int(0.9 * (len(values) - 1))]:.1f} ms, min {values[0]:.1f}, max {values[-1]:.1f} "
              f"(n={len(values)})   $ {' '.join(cmd)}")
    print(f"  ({load()} at the end)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--small-rows", type=int, default=100_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-rounds", type=int, default=30)
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--tmp", default=None)
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if only - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(only - set(SECTIONS)))}")
    tmp = Path(tempfile.mkdtemp(prefix="flm-bench-columnar-", dir=args.tmp))
    print(f"flm predict, columnar: model {MODEL}, {os.cpu_count()} cores, {load()}, inputs in {tmp}")
    try:
        inputs = Inputs(tmp)
        if "ndjson" in only:
            bench_ndjson(inputs, tmp, args.rows, args.repeat)
        if "json" in only:
            bench_json(inputs, tmp, args.rows, args.repeat)
        for fmt in ("csv", "parquet"):
            if fmt in only:
                bench_columnar_file(inputs, tmp, fmt, args.rows, args.repeat)
        if "threads" in only:
            bench_threads(inputs, tmp, args.rows, args.repeat)
        if "stages" in only:
            bench_stages(inputs, tmp, args.rows, args.repeat)
        if "filestages" in only:
            bench_file_stages(inputs, tmp, args.rows, args.repeat)
        if "timeline" in only:
            bench_timeline(inputs, tmp, args.rows, args.repeat)
        if "blas" in only:
            bench_blas(inputs, tmp, args.rows, args.repeat)
        if "nativereads" in only:
            bench_native_reads(inputs, tmp, args.rows, args.repeat)
        if "latency" in only:
            bench_latency(inputs, tmp, args.latency_rounds)
        if "rss" in only:
            bench_rss(inputs, tmp, args.small_rows, args.big_rows)
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
