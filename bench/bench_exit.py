"""How long `flm` takes to end once its work is done: with the heap frozen at exit (flm today) vs Python's usual
teardown (the same command with the interpreter's last garbage collections walking everything imported).

For each case, runs alternate between the two (interleaved, `--repeat` times each) and each run records:
    last    seconds from start to the last stdout byte read by this script
    eof     seconds from start to end of file on stdout (the process has closed it: what the next pipe stage waits for)
    exit    seconds from start to the process reaped
    tail    eof - last: the time the reader waits after the last byte
    cpu     user + system CPU seconds of the process (wait4)
The medians are printed with the load average seen over the runs, and the ratios "frozen / teardown".

Cases: a one-row `flm predict` of the churn sample (data/input.json), `flm --help`, and `flm predict` of N churn rows
as NDJSON (`--rows`, 1M by default, generated from data/data.parquet in a temporary directory).

    python bench/bench_exit.py [--repeat 7] [--rows 1000000] [--only one,help,rows]

Both commands run the same code in the same venv with the warm helper off (FLM_WARM=0); they differ only in how the
interpreter ends: `flmcli.cli.main()` (frozen) vs `flmcli.cli.cli()` (click's group, ending in sys.exit, as before).
Their stdout bytes and exit statuses are compared and any difference is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "samples" / "churn.flm"
ONE_ROW = ROOT / "data" / "input.json"
DATA = ROOT / "data" / "data.parquet"

VARIANTS = {
    "frozen": "import sys; sys.argv[0] = 'flm'; from flmcli.cli import main; main()",
    "teardown": "import sys; sys.argv[0] = 'flm'; from flmcli.cli import cli; cli()",
}


def measure(code: str, args: list[str]) -> tuple[dict[str, float], bytes, int]:
    env = dict(os.environ, FLM_WARM="0")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    last = start
    chunks = []
    while True:
        chunk = os.read(proc.stdout.fileno(), 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        last = time.perf_counter()
    eof = time.perf_counter()
    _, status, usage = os.wait4(proc.pid, 0)
    end = time.perf_counter()
    proc.stdout.close()
    figures = {
        "last": last - start, "eof": eof - start, "exit": end - start, "tail": eof - last,
        "cpu": usage.ru_utime + usage.ru_stime,
    }
    return figures, b"".join(chunks), os.waitstatus_to_exitcode(status)


def case(name: str, args: list[str], repeat: int) -> None:
    runs: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
    outputs: dict[str, set[tuple[bytes, int]]] = {variant: set() for variant in VARIANTS}
    loads = []
    for i in range(repeat):
        # alternate which goes first, so that neither always runs on the page cache the other warmed
        order = list(VARIANTS) if i % 2 == 0 else list(reversed(VARIANTS))
        for variant in order:
            figures, out, status = measure(VARIANTS[variant], args)
            runs[variant].append(figures)
            outputs[variant].add((out, status))
            loads.append(os.getloadavg()[0])
    print(f"\n{name}: flm {' '.join(args)}")
    print(f"  {repeat} runs each, interleaved; load average {min(loads):.1f}-{max(loads):.1f}")
    keys = ("last", "eof", "exit", "tail", "cpu")
    print("  median s   " + "".join(f"{k:>9}" for k in keys))
    medians = {v: {k: statistics.median(r[k] for r in runs[v]) for k in keys} for v in VARIANTS}
    for variant in VARIANTS:
        print(f"  {variant:<10} " + "".join(f"{medians[variant][k]:9.3f}" for k in keys))
    ratio = {k: medians["frozen"][k] / medians["teardown"][k] if medians["teardown"][k] else float("nan") for k in keys}
    print(f"  {'ratio':<10} " + "".join(f"{ratio[k]:9.2f}" for k in keys) + "   (frozen / teardown)")
    if outputs["frozen"] != outputs["teardown"] or len(outputs["frozen"]) != 1:
        print("  !! stdout bytes or exit statuses differ between runs or variants:",
              {v: [(len(o), s) for o, s in outputs[v]] for v in VARIANTS})
    else:
        (out, status), = outputs["frozen"]
        print(f"  same stdout ({len(out)} bytes) and exit status ({status}) in every run")


def ndjson_rows(directory: Path, rows: int) -> Path:
    import orjson
    import pyarrow.parquet as pq

    table = pq.read_table(DATA)
    lines = [orjson.dumps(row) + b"\n" for row in table.to_pylist()]
    block = b"".join(lines)
    path = directory / f"rows-{rows}.ndjson"
    with open(path, "wb") as out:
        out.writelines(block for _ in range(rows // len(lines)))
        out.write(b"".join(lines[: rows % len(lines)]))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", default="one,help,rows")
    options = parser.parse_args()
    only = set(options.only.split(","))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; "
          "frozen = flm as it ends today, teardown = Python's usual end")
    if "help" in only:
        case("--help", ["--help"], options.repeat)
    if "one" in only:
        case("one row", ["predict", str(MODEL), str(ONE_ROW)], options.repeat)
    if "rows" in only:
        with tempfile.TemporaryDirectory(prefix="flm-bench-exit-") as tmp:
            source = ndjson_rows(Path(tmp), options.rows)
            case(f"{options.rows} NDJSON rows", ["predict", str(MODEL), str(source)], options.repeat)


if __name__ == "__main__":
    main()
