"""`flm predict` on the churn sample model: throughput, memory, start-up and latency, each beside a baseline
measured in the same run. Figures and ratios are printed, never asserted.

    .venv/bin/python bench/bench_predict.py [--rows N] [--big-rows N] [--repeat K] [--only SECTION,...]

Sections (all by default): ndjson, parquet, rss, cold, importtime, latency, batch, flama.

    ndjson      `flm predict churn.flm rows.ndjson > out` vs a hand-written one-process script (orjson per line
                -> object array -> DataFrame -> predict -> orjson per line, same batch size, same bytes out)
    parquet     `flm predict churn.flm rows.parquet -o out.parquet` vs `estimator.predict` on the same rows in
                memory, over the whole frame and in batches of the same size
    rss         peak RSS of `flm predict` for 100k rows vs --big-rows rows, NDJSON and Parquet
    cold        one row through `flm predict` vs `python -c "import sklearn"` and `"import sklearn, pandas"`
    importtime  the slowest imports of a one-row run (`python -X importtime -m flmcli predict ...`)
    latency     one row written to a live `flm predict` pipe until its result line is read, vs the model alone
    batch       NDJSON throughput for each --batch-size on 200k rows
    flama       Flama 2.2.2's `flama model M run` / `stream` beside flm (needs a venv with flama 2.2.2; see --flama)

The machine these run on is usually shared: runs of the compared commands are interleaved, repeated --repeat
times, and medians are reported with the spread (min-max) so the noise is visible. Inputs are generated into a
temporary directory (the churn rows of data/data.parquet, replicated) that is removed at the end.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "samples" / "churn.flm"
DATA = ROOT / "data" / "data.parquet"
BIN = Path(sys.executable).parent
FLM = str(BIN / "flm")
PY = sys.executable
TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
SECTIONS = ("ndjson", "parquet", "rss", "cold", "importtime", "latency", "batch", "flama")
BATCH_SIZES = (2048, 8192, 16384, 32768, 65536)

# The hand-written baseline: what someone would write in one process with orjson and the estimator.
HAND_WRITTEN = '''
import sys
import numpy as np, orjson, pandas as pd
import flmcli

source, target, batch_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = flmcli.load(sys.argv[4]).estimator
names = [str(n) for n in model.feature_names_in_]
loads, dumps = orjson.loads, orjson.dumps

def score(rows, out):
    X = pd.DataFrame(np.array([[row[n] for n in names] for row in rows], dtype=object), columns=names)
    out.write(b"".join(dumps({"prediction": v}) + b"\\n" for v in model.predict(X).tolist()))

with open(source, "rb") as fp, open(target, "wb") as out:
    rows = []
    for line in fp:
        rows.append(loads(line))
        if len(rows) == batch_size:
            score(rows, out)
            rows = []
    if rows:
        score(rows, out)
'''

# Flama's CLI gives the model a numpy array (its input is a JSON list of feature vectors), which the sample
# model, fitted on a DataFrame with columns chosen by name, refuses. For the side by side, the same pipeline
# is fitted on positions instead.
POSITIONAL_MODEL = '''
import sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
import flmcli

data = pd.read_parquet(sys.argv[1])
X, y = data.drop(columns=["Exited"]).to_numpy(dtype=object), data["Exited"].to_numpy()
numerical = Pipeline([("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())])
categorical = Pipeline([("imputer", SimpleImputer(strategy="constant", fill_value="missing")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore"))])
pre = ColumnTransformer([("numerical", numerical, [3, 6, 7, 8, 9, 10, 11, 12]), ("categorical", categorical, [4, 5])])
clf = MLPClassifier(hidden_layer_sizes=(8, 6, 1), activation="tanh", solver="adam", random_state=123456, max_iter=300)
flmcli.dump(Pipeline([("preprocessing", pre), ("mlp_classifier", clf)]).fit(X, y), sys.argv[2])
'''

# A one-row run cut into phases, each timed after the previous one: what start-up is made of.
PHASES = '''
import sys, time
marks = [("start", time.perf_counter())]
def mark(name): marks.append((name, time.perf_counter()))
import flmcli.cli; mark("flmcli.cli")
import numpy, pandas, sklearn; mark("numpy+pandas+sklearn")
from flmcli.flm import load
model = load(sys.argv[1]); mark("read+audit file")
model.estimator; mark("unpickle")
from flmcli.predictor import Predictor
from flmcli import formats
predictor = Predictor(model); mark("Predictor")
batch = next(formats.reader("ndjson")(sys.stdin.buffer, source="-", batch_size=2048, max_delay=0.05))
predictor.score(batch); mark("score 1st row")
predictor.score(batch); mark("score again")
print("  ".join(f"{n} {(t - marks[i][1]) * 1e3:.0f}" for i, (n, t) in enumerate(marks[1:])))
'''

# --- measuring -------------------------------------------------------------------------------------------------


class Run:
    def __init__(self, wall: float, rss_kib: int | None, code: int) -> None:
        self.wall, self.rss_kib, self.code = wall, rss_kib, code


def run(cmd: Sequence[str], *, stdin: str | bytes | None = None, stdout: str | None = None) -> Run:
    """Run a command, its stdout to a file (or discarded); wall time, and peak RSS from /usr/bin/time."""
    report = tempfile.NamedTemporaryFile(prefix="flm-bench-time-", delete=False)
    report.close()
    full = [TIME, "-f", "%M", "-o", report.name, *cmd] if TIME else list(cmd)
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    try:
        if isinstance(stdin, str):
            with open(stdin, "rb") as fp:
                start = time.perf_counter()
                proc = subprocess.run(full, stdin=fp, stdout=out, stderr=subprocess.PIPE)
        else:
            start = time.perf_counter()
            proc = subprocess.run(full, input=stdin or b"", stdout=out, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
    finally:
        if stdout:
            out.close()  # type: ignore[union-attr]
    rss = None
    if TIME:
        text = Path(report.name).read_text().strip().splitlines()
        rss = int(text[-1]) if text and text[-1].isdigit() else None
    os.unlink(report.name)
    if proc.returncode != 0:
        print(f"    ! exit {proc.returncode}: {' '.join(map(str, cmd))}\n      {proc.stderr.decode()[-400:]}")
    return Run(wall, rss, proc.returncode)


def model_alone(estimator: Any, frame: Any, batch: int) -> Callable[[], Run]:
    """The estimator on an in-memory frame, `batch` rows a call as flm batches: the baseline with no I/O."""
    def batched() -> Run:
        start = time.perf_counter()
        for i in range(0, len(frame), batch):
            estimator.predict(frame.iloc[i : i + batch])
        return Run(time.perf_counter() - start, None, 0)
    return batched


def interleave(cases: dict[str, Callable[[], Run]], repeat: int) -> dict[str, list[Run]]:
    """Each case once per round, rounds repeated: a slow patch of a shared machine hits every case alike."""
    results: dict[str, list[Run]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, case in cases.items():
            results[name].append(case())
    return results


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> str:
    return f"median {med(values):.3f} s (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.0f} MiB"


def show(cmd: Sequence[str], stdin: str | None = None, stdout: str | None = None) -> str:
    text = " ".join(str(c) for c in cmd)
    return text + (f" < {stdin}" if stdin else "") + (f" > {stdout}" if stdout else "")


# --- inputs ----------------------------------------------------------------------------------------------------


class Inputs:
    def __init__(self, directory: Path) -> None:
        import pyarrow.parquet as pq

        self.dir = directory
        self.table = pq.read_table(DATA)
        self.made: dict[tuple[str, int], Path] = {}

    def ndjson(self, rows: int) -> Path:
        import orjson

        key = ("ndjson", rows)
        if key not in self.made:
            path = self.dir / f"rows-{rows}.ndjson"
            block = b"".join(orjson.dumps(r) + b"\n" for r in self.table.to_pylist())
            base = self.table.num_rows
            with open(path, "wb") as out:
                out.writelines(block for _ in range(rows // base))
                if rows % base:
                    out.write(b"".join(block.splitlines(keepends=True)[: rows % base]))
            self.made[key] = path
        return self.made[key]

    def parquet(self, rows: int) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        key = ("parquet", rows)
        if key not in self.made:
            path = self.dir / f"rows-{rows}.parquet"
            base = self.table.num_rows
            parts = [self.table] * (rows // base) + ([self.table.slice(0, rows % base)] if rows % base else [])
            # pyarrow's default row groups (up to 1Mi rows), as pandas.to_parquet would write them.
            pq.write_table(pa.concat_tables(parts), path)
            self.made[key] = path
        return self.made[key]

    def json_array(self, rows: int) -> Path:
        """Positional rows as one JSON array: Flama's input, and flm's `[[...]]` shape."""
        import orjson

        key = ("json", rows)
        if key not in self.made:
            path = self.dir / f"rows-{rows}.json"
            values = [list(r.values()) for r in self.table.drop_columns(["Exited"]).to_pylist()]
            path.write_bytes(orjson.dumps([values[i % len(values)] for i in range(rows)]))
            self.made[key] = path
        return self.made[key]

    def one_row(self) -> bytes:
        import orjson

        return orjson.dumps(self.table.slice(0, 1).to_pylist()[0]) + b"\n"


# --- sections --------------------------------------------------------------------------------------------------


def bench_ndjson(inputs: Inputs, tmp: Path, rows: int, repeat: int, batch: int) -> None:
    print(f"\n== 1. NDJSON in/out, {rows:,} churn rows (batch size {batch}) ==")
    source = inputs.ndjson(rows)
    script = tmp / "hand_written.py"
    script.write_text(HAND_WRITTEN)
    flm_cmd = [FLM, "predict", str(MODEL), str(source), "--batch-size", str(batch)]
    hand_cmd = [PY, str(script), str(source), str(tmp / "hand.ndjson"), str(batch), str(MODEL)]
    results = interleave({
        "flm": lambda: run(flm_cmd, stdout=str(tmp / "flm.ndjson")),
        "hand": lambda: run(hand_cmd),
    }, repeat)
    same = (tmp / "flm.ndjson").read_bytes() == (tmp / "hand.ndjson").read_bytes()
    for name, cmd, out in (("flm", flm_cmd, str(tmp / "flm.ndjson")), ("hand", hand_cmd, None)):
        walls = [r.wall for r in results[name]]
        print(f"  {name:5} {rows / med(walls):>9,.0f} rows/s  {spread(walls)}  peak {mib(results[name][0].rss_kib)}")
        print(f"        $ {show(cmd, stdout=out)}")
    ratio = med([r.wall for r in results["hand"]]) / med([r.wall for r in results["flm"]])
    print(f"  flm / hand-written throughput: {ratio:.2f}x (target >= 0.9x); outputs byte-identical: {same}")


def bench_parquet(inputs: Inputs, tmp: Path, rows: int, repeat: int, batch: int) -> None:
    import pandas as pd

    import flmcli

    print(f"\n== 2. Parquet in/out, {rows:,} churn rows (batch size {batch}) ==")
    source = inputs.parquet(rows)
    out = tmp / "out.parquet"
    cmd = [FLM, "predict", str(MODEL), str(source), "-o", str(out), "--batch-size", str(batch)]
    estimator = flmcli.load(MODEL).estimator
    names = [str(n) for n in estimator.feature_names_in_]
    frame = pd.read_parquet(source)[names]

    def whole() -> Run:
        start = time.perf_counter()
        estimator.predict(frame)
        return Run(time.perf_counter() - start, None, 0)

    row = inputs.one_row()
    results = interleave({"flm": lambda: run(cmd), "whole": whole, "batched": model_alone(estimator, frame, batch),
                          "start-up": lambda: run([FLM, "predict", str(MODEL)], stdin=row)}, repeat)
    walls = {name: [r.wall for r in runs] for name, runs in results.items()}
    startup = med(walls["start-up"])
    print(f"  flm            {rows / med(walls['flm']):>9,.0f} rows/s  {spread(walls['flm'])}  "
          f"peak {mib(results['flm'][0].rss_kib)}")
    print(f"        $ {show(cmd)}")
    print(f"  model, whole   {rows / med(walls['whole']):>9,.0f} rows/s  {spread(walls['whole'])}  "
          "(estimator.predict(df) over the whole frame, in this process, frame already in memory)")
    print(f"  model, batched {rows / med(walls['batched']):>9,.0f} rows/s  {spread(walls['batched'])}  "
          f"(estimator.predict(df.iloc[i:i+{batch}]) in turn)")
    print(f"  flm, one row   {spread(walls['start-up'])}  (start-up: echo ROW | flm predict churn.flm, same rounds)")
    for base in ("whole", "batched"):
        ratio = med(walls[base]) / med(walls["flm"])
        line = f"  flm / model {base:7}: {ratio:.2f}x end to end (target >= 0.7x)"
        if med(walls["flm"]) > startup:
            line += f"; {med(walls[base]) / (med(walls['flm']) - startup):.2f}x net of flm's {startup:.2f} s start-up"
        print(line)


def bench_rss(inputs: Inputs, tmp: Path, small: int, big: int, batch: int | None) -> None:
    print(f"\n== 3. Peak RSS, {small:,} vs {big:,} rows (one run each) ==")
    if TIME is None:
        print("  /usr/bin/time not found: skipped")
        return
    for fmt in ("ndjson", "parquet"):
        figures = []
        for rows in (small, big):
            source = inputs.ndjson(rows) if fmt == "ndjson" else inputs.parquet(rows)
            if fmt == "ndjson":
                cmd, stdout = [FLM, "predict", str(MODEL), str(source)], str(tmp / "rss.ndjson")
            else:
                cmd, stdout = [FLM, "predict", str(MODEL), str(source), "-o", str(tmp / "rss.parquet")], None
            result = run(cmd, stdout=stdout)
            figures.append(result)
            print(f"  {fmt:7} {rows:>11,} rows  peak {mib(result.rss_kib):>8}  {result.wall:7.1f} s  "
                  f"{rows / result.wall:>9,.0f} rows/s   $ /usr/bin/time -f %M {show(cmd, stdout=stdout)}")
            for made in (tmp / "rss.ndjson", tmp / "rss.parquet"):
                made.unlink(missing_ok=True)
        if figures[0].rss_kib and figures[1].rss_kib:
            print(f"  {fmt:7} {big:,} / {small:,} rows peak RSS: {figures[1].rss_kib / figures[0].rss_kib:.2f}x "
                  "(target < 1.5x)")
        # The big inputs are the bulk of the disk used: gone as soon as measured.
        key = (fmt, big)
        if key in inputs.made:
            inputs.made.pop(key).unlink()


def bench_cold(inputs: Inputs, repeat: int) -> float:
    print(f"\n== 4. Cold start: one churn row, {repeat} interleaved runs ==")
    row = inputs.one_row()
    cases = {
        "flm predict": [FLM, "predict", str(MODEL)],
        "import sklearn": [PY, "-c", "import sklearn"],
        "import sklearn, pandas": [PY, "-c", "import sklearn, pandas"],
    }
    results = interleave({name: (lambda cmd=cmd: run(cmd, stdin=row)) for name, cmd in cases.items()}, repeat)
    for name, cmd in cases.items():
        walls = [r.wall for r in results[name]]
        print(f"  {name:24} {spread(walls)}  peak {mib(results[name][0].rss_kib)}")
        print(f"        $ {'echo ROW | ' if name == 'flm predict' else ''}{show(cmd)}")
    flm = med([r.wall for r in results["flm predict"]])
    for base in ("import sklearn", "import sklearn, pandas"):
        print(f"  flm predict - {base}: {flm - med([r.wall for r in results[base]]):+.3f} s "
              "(target within 0.3 s of import sklearn)")
    print(f"  ROW = {row.decode().strip()}")
    return flm


def bench_importtime(inputs: Inputs, top: int = 15) -> None:
    print("\n== 4b. Where a one-row run's start-up goes: python -X importtime -m flmcli predict ==")
    cmd = [PY, "-X", "importtime", "-m", "flmcli", "predict", str(MODEL)]
    proc = subprocess.run(cmd, input=inputs.one_row(), capture_output=True)
    pattern = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")
    entries = [(int(m[2]), len(m[3]), m[4]) for m in map(pattern.match, proc.stderr.decode().splitlines()) if m]
    total = sum(c for c, depth, _ in entries if depth == 0)
    print(f"  $ echo ROW | {show(cmd)}    (imports in total: {total / 1e6:.2f} s cumulative, top level)")
    print("  top-level imports by cumulative time:")
    for cumulative, _, name in sorted((e for e in entries if e[1] == 0), reverse=True)[:top]:
        print(f"    {cumulative / 1e3:8.0f} ms  {name}")
    print("  heavy packages and whether they were imported at all:")
    names = {name for _, _, name in entries}
    for package in ("sklearn", "pandas", "numpy", "scipy", "pyarrow", "rich", "zstandard", "ijson", "starlette",
                    "uvicorn", "sklearn.neural_network", "sklearn.compose", "sklearn.metrics", "sklearn.model_selection"):
        times = [c for c, _, n in entries if n == package]
        print(f"    {package:24} {'%6.0f ms (cumulative where first imported)' % (times[0] / 1e3) if times else 'not imported'}")
    del names
    phases = subprocess.run([PY, "-c", PHASES, str(MODEL)], input=inputs.one_row().decode(), capture_output=True, text=True)
    print("  the same one-row run in phases, in one fresh interpreter (ms):")
    print("    " + (phases.stdout.strip() or phases.stderr.strip()[-300:]))
    print("  (sklearn.callback imports rich and pandas imports pyarrow when installed: both come with those packages)")


def bench_latency(inputs: Inputs, rounds: int = 20, pause: float = 0.3) -> None:
    import numpy as np
    import pandas as pd

    import flmcli
    from flmcli.batch import Batch
    from flmcli.predictor import Predictor

    print(f"\n== 5. One row in a live pipe (default --max-delay), {rounds} rows {pause} s apart ==")
    row = inputs.one_row()
    cmd = [FLM, "predict", str(MODEL)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(row)  # the first row pays for loading the model: not counted
    proc.stdout.readline()
    waits = []
    for _ in range(rounds):
        time.sleep(pause)
        start = time.perf_counter()
        proc.stdin.write(row)
        line = proc.stdout.readline()
        waits.append(time.perf_counter() - start)
        if not line:
            print("  ! flm predict exited early")
            break
    proc.stdin.close()
    proc.wait()
    model = flmcli.load(MODEL)
    estimator = model.estimator
    names = [str(n) for n in estimator.feature_names_in_]
    record = __import__("orjson").loads(row)
    X = pd.DataFrame(np.array([[record[n] for n in names]], dtype=object), columns=names)
    predictor = Predictor(model)

    def timing(call: Callable[[], object], n: int = 50) -> list[float]:
        call()
        out = []
        for _ in range(n):
            start = time.perf_counter()
            call()
            out.append(time.perf_counter() - start)
        return out

    alone = timing(lambda: estimator.predict(X))
    scored = timing(lambda: predictor.score(Batch(source="-", records=[record], lines=[1], first_row=1)))
    print(f"  row written -> result line read: median {med(waits) * 1e3:.1f} ms, p90 {pct(waits, 0.9) * 1e3:.1f} ms, "
          f"min {min(waits) * 1e3:.1f}, max {max(waits) * 1e3:.1f} (n={len(waits)})")
    print(f"        $ {show(cmd)}   (a process kept open; rows written to its stdin pipe)")
    print(f"  model alone, one row in-process: estimator.predict(1-row DataFrame) median {med(alone) * 1e3:.2f} ms; "
          f"Predictor.score(1-row batch) median {med(scored) * 1e3:.2f} ms")
    print(f"  pipe latency - model time: {(med(waits) - med(alone)) * 1e3:.1f} ms median, "
          f"{(pct(waits, 0.9) - med(alone)) * 1e3:.1f} ms p90 (target under 100 ms)")


def bench_batch(inputs: Inputs, tmp: Path, rows: int, repeat: int) -> None:
    print(f"\n== 6. NDJSON throughput by --batch-size, {rows:,} rows, {repeat} interleaved rounds ==")
    source = inputs.ndjson(rows)
    out = str(tmp / "batch.ndjson")
    cases = {size: [FLM, "predict", str(MODEL), str(source), "--batch-size", str(size)] for size in BATCH_SIZES}
    row = inputs.one_row()
    results = interleave({"start-up": lambda: run([FLM, "predict", str(MODEL)], stdin=row),
                          **{str(s): (lambda cmd=cmd: run(cmd, stdout=out)) for s, cmd in cases.items()}}, repeat)
    startup = med([r.wall for r in results["start-up"]])
    print(f"  start-up (one row, same rounds): {spread([r.wall for r in results['start-up']])}")
    print(f"  $ {show(cases[BATCH_SIZES[0]], stdout=out)}  (and each size)")
    for size in BATCH_SIZES:
        walls = [r.wall for r in results[str(size)]]
        line = f"  {size:>5}  {rows / med(walls):>9,.0f} rows/s end to end  {spread(walls)}  peak {mib(results[str(size)][0].rss_kib)}"
        if med(walls) > startup:
            line += f"  net of start-up {rows / (med(walls) - startup):>9,.0f} rows/s"
        print(line)


def bench_flama(inputs: Inputs, tmp: Path, flama_bin: str | None, rows: int, stream_rows: int, repeat: int) -> None:
    print(f"\n== 7. Flama 2.2.2 beside flm: `run` on {rows:,} rows, `stream` on {stream_rows} rows ==")
    if flama_bin is None:
        print("  no Flama 2.2.2 venv found (pass --flama PATH/TO/bin/flama): skipped")
        return
    flama_python = str(Path(flama_bin).parent / "python")
    version = subprocess.run([flama_python, "-c", "from importlib.metadata import version as v; print(v('flama'), v('scikit-learn'))"],
                             capture_output=True, text=True).stdout.strip()
    print(f"  flama, scikit-learn in that venv: {version}   ({flama_bin})")
    sample = inputs.json_array(2)
    refused = subprocess.run([flama_bin, "model", str(MODEL), "run", "-i", str(sample)], capture_output=True, text=True)
    last = (refused.stderr.strip().splitlines() or ["(no message)"])[-1]
    print(f"  samples/churn.flm under Flama: exit {refused.returncode}: {last}")
    print("    (Flama gives the model a numpy array; the sample pipeline picks columns by name, so it needs a "
          "DataFrame. Compared below on the same pipeline fitted on column positions.)")
    model = tmp / "churn_positional.flm"
    subprocess.run([PY, "-c", POSITIONAL_MODEL, str(DATA), str(model)], check=True)
    source = inputs.json_array(rows)
    few = inputs.json_array(stream_rows)
    cases = {
        "flama run": [flama_bin, "model", str(model), "run", "-i", str(source)],
        "flm predict": [FLM, "predict", str(model), str(source)],
        "flama stream": [flama_bin, "model", str(model), "stream", "-i", str(few)],
        "flm predict (stream rows)": [FLM, "predict", str(model), str(few)],
    }
    outs = {name: str(tmp / f"flama-{i}.out") for i, name in enumerate(cases)}
    results = interleave({name: (lambda name=name, cmd=cmd: run(cmd, stdout=outs[name]))
                          for name, cmd in cases.items()}, repeat)
    for name, cmd in cases.items():
        n = stream_rows if "stream" in name else rows
        walls = [r.wall for r in results[name]]
        print(f"  {name:26} {n / med(walls):>9,.0f} rows/s  {spread(walls)}  peak {mib(results[name][0].rss_kib)}  "
              f"exit {results[name][0].code}")
        print(f"        $ {show(cmd, stdout=outs[name])}")
    import orjson

    try:
        same = orjson.loads(Path(outs["flama run"]).read_bytes()) == orjson.loads(Path(outs["flm predict"]).read_bytes())
        print(f"  same predictions from `flama run` and `flm predict`: {same}")
    except orjson.JSONDecodeError as error:
        print(f"  outputs not comparable as JSON: {error}")


# --- main ------------------------------------------------------------------------------------------------------


def find_flama() -> str | None:
    candidates = sorted(glob.glob(os.path.expanduser("~/.cache/flm-compat/flama-2.2.2-*/bin/flama")))
    candidates.append("/tmp/flamavenv/bin/flama")
    return next((c for c in candidates if os.access(c, os.X_OK)), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for sections 1 and 2")
    parser.add_argument("--small-rows", type=int, default=100_000, help="the small run of section 3")
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="the big run of section 3 (10M NDJSON ~2 GB)")
    parser.add_argument("--batch-rows", type=int, default=200_000, help="rows for section 6")
    parser.add_argument("--flama-rows", type=int, default=100_000)
    parser.add_argument("--stream-rows", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds for throughput sections")
    parser.add_argument("--cold-runs", type=int, default=9)
    parser.add_argument("--batch-size", type=int, default=None, help="for sections 1 and 2 (default: flm's)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated, from {','.join(SECTIONS)}")
    parser.add_argument("--flama", default=None, help="a flama 2.2.2 executable (default: look in ~/.cache/flm-compat)")
    parser.add_argument("--tmp", default=None, help="where to generate inputs (default: the system temp dir)")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")

    from flmcli import formats

    text_batch = args.batch_size or formats.get("ndjson").batch_size
    columnar_batch = args.batch_size or formats.get("parquet").batch_size
    tmp = Path(tempfile.mkdtemp(prefix="flm-bench-predict-", dir=args.tmp))
    print(f"flm predict benchmarks: model {MODEL}, python {PY}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}, inputs in {tmp}")
    try:
        inputs = Inputs(tmp)
        if "cold" in only:
            bench_cold(inputs, args.cold_runs)
        if "importtime" in only:
            bench_importtime(inputs)
        if "ndjson" in only:
            bench_ndjson(inputs, tmp, args.rows, args.repeat, text_batch)
        if "parquet" in only:
            bench_parquet(inputs, tmp, args.rows, args.repeat, columnar_batch)
        if "latency" in only:
            bench_latency(inputs)
        if "batch" in only:
            bench_batch(inputs, tmp, args.batch_rows, args.repeat)
        if "flama" in only:
            bench_flama(inputs, tmp, args.flama or find_flama(), args.flama_rows, args.stream_rows, args.repeat)
        if "rss" in only:
            bench_rss(inputs, tmp, args.small_rows, args.big_rows, None)
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
