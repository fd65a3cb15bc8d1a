"""`flm predict` cold vs warm (`flm warm start`), side by side in the same run. Figures printed, never asserted.

    .venv/bin/python bench/bench_warm.py [--repeat 10] [--chain-repeat 5] [--loop 100] [--cold-loop 10]

    one row     `flm predict samples/churn.flm data/input.json`: cold (FLM_WARM=0) and warm runs interleaved,
                median of --repeat each, and the ratio
    chain       `flm predict a --keep-input | flm predict b --keep-input | flm predict c` (three churn files
                of the corpus, so three cache entries), cold and warm interleaved, median of --chain-repeat
    loop        a shell loop of --loop one-file calls through the helper; the cold loop runs --cold-loop calls
                (a cold call costs seconds) and is scaled up to --loop, which is printed as such
    breakdown   where a warm call's time goes: `python -c pass`, the client's own imports (-X importtime),
                the fork and the child's lifetime as the helper measured them, a model cache hit (stat + read +
                SHA-256) vs a cold load + unpickle of the same file in this process

The helper runs in a private runtime directory (FLM_WARM_DIR) made for the run and is stopped at the end.
The machine is usually shared: `uptime` load averages are printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "samples" / "churn.flm"
ROW = ROOT / "data" / "input.json"
CORPUS = ROOT / "tests" / "data" / "flm-corpus"
CHAIN = [MODEL, CORPUS / "flama-1.12.4_churn_zstd_p1.flm", CORPUS / "flama-1.12.4_churn_lzma_p1.flm"]
BIN = Path(sys.executable).parent
FLM = str(BIN / "flm") if (BIN / "flm").exists() else f"{sys.executable} -m flmcli"


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg()) + " (uptime load averages 1, 5, 15 min)"


def timed(command: str, env: dict[str, str], expect: bytes | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(["bash", "-c", command], env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0 or (expect is not None and result.stdout != expect):
        raise SystemExit(f"{command!r} failed ({result.returncode}): {result.stderr.decode()[-500:]}")
    return elapsed


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):7.3f} s  (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--chain-repeat", type=int, default=5)
    parser.add_argument("--loop", type=int, default=100)
    parser.add_argument("--cold-loop", type=int, default=10)
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="flmw-bench-")
    base = {k: v for k, v in os.environ.items() if not k.startswith("FLM_")}
    warm = {**base, "FLM_WARM_DIR": directory}
    cold = {**base, "FLM_WARM": "0"}
    print(f"load before: {load()}   cpus: {os.cpu_count()}   flm: {FLM}")
    started = time.perf_counter()
    subprocess.run(["bash", "-c", f"{FLM} warm start"], env=warm, check=True, capture_output=True)
    print(f"flm warm start (imports in the helper): {time.perf_counter() - started:.2f} s")
    try:
        run_all(args, warm, cold)
    finally:
        subprocess.run(["bash", "-c", f"{FLM} warm stop"], env=warm, check=False, capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)
    print(f"load after: {load()}")


def run_all(args: argparse.Namespace, warm: dict[str, str], cold: dict[str, str]) -> None:
    one = f"{FLM} predict {MODEL} {ROW}"
    expect = subprocess.run(["bash", "-c", one], env=cold, capture_output=True, check=True).stdout
    timed(one, warm, expect)  # the first warm call loads the model cold in its child; the helper caches it after
    time.sleep(0.5)

    cold_times, warm_times = [], []
    for _ in range(args.repeat):
        cold_times.append(timed(one, cold, expect))
        warm_times.append(timed(one, warm, expect))
    c, w = statistics.median(cold_times), statistics.median(warm_times)
    print("\none row through the churn model (`flm predict samples/churn.flm data/input.json`)")
    print(f"  cold  {spread(cold_times)}")
    print(f"  warm  {spread(warm_times)}")
    print(f"  warm is {c / w:.1f}x faster (target: <= 0.3 s and >= 8x)")

    chain = (f"{FLM} predict {CHAIN[0]} {ROW} --keep-input --output-name a | {FLM} predict {CHAIN[1]} --keep-input"
             f" --output-name b | {FLM} predict {CHAIN[2]} --output-name c")
    chain_expect = subprocess.run(["bash", "-c", chain], env=cold, capture_output=True, check=True).stdout
    timed(chain, warm, chain_expect)
    time.sleep(0.5)
    cold_chain, warm_chain = [], []
    for _ in range(args.chain_repeat):
        cold_chain.append(timed(chain, cold, chain_expect))
        warm_chain.append(timed(chain, warm, chain_expect))
    c, w = statistics.median(cold_chain), statistics.median(warm_chain)
    print("\n3-stage chain (three model files, --keep-input)")
    print(f"  cold  {spread(cold_chain)}")
    print(f"  warm  {spread(warm_chain)}")
    print(f"  warm is {c / w:.1f}x faster (target: <= 1 s)")

    loop = f"for i in $(seq {{n}}); do {FLM} predict {MODEL} {ROW} > /dev/null || exit 1; done"
    warm_loop = timed(loop.format(n=args.loop), warm)
    cold_loop = timed(loop.format(n=args.cold_loop), cold)
    scaled = cold_loop * args.loop / args.cold_loop
    print("\nshell loop of one-file calls")
    print(f"  warm  {args.loop} calls: {warm_loop:.2f} s ({warm_loop / args.loop * 1000:.0f} ms a call)")
    print(f"  cold  {args.cold_loop} calls: {cold_loop:.2f} s ({cold_loop / args.cold_loop * 1000:.0f} ms a call);"
          f" x{args.loop / args.cold_loop:g} = {scaled:.1f} s for {args.loop}")
    print(f"  warm is {scaled / warm_loop:.1f}x faster")

    breakdown(warm)


def breakdown(warm: dict[str, str]) -> None:
    print("\nwhere a warm call's time goes")
    bare = [timed(f"{sys.executable} -c pass", warm) for _ in range(10)]
    print(f"  python -c pass                          {statistics.median(bare) * 1000:7.1f} ms (median of 10)")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flmcli", "predict", str(MODEL), str(ROW)],
        env=warm, capture_output=True, check=True,
    )
    total = ours = 0
    heavy = []
    for line in result.stderr.decode().splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, field = line[len("import time:"):].split("|")
        name = field.strip()
        if field.startswith(" ") and not field.startswith("  "):  # top level: nothing counted twice
            total += int(cumulative)
            ours += int(cumulative) if name.startswith("flmcli") else 0
        heavy += [name] if name in ("click", "numpy", "pandas", "sklearn", "pyarrow") else []
    print(f"  client imports (-X importtime, top level): {total / 1000:.1f} ms in all (site, encodings, ...),"
          f" {ours / 1000:.1f} ms of them flmcli's (launch, warm.client: socket, json, ...);"
          f" heavy modules: {heavy or 'none'}")
    client = subprocess.run(["bash", "-c", f"{FLM} warm status --json"], env=warm, capture_output=True, check=True)
    status = json.loads(client.stdout)
    print(f"  fork in the helper                      {status['fork_ms']:7.2f} ms (median over {status['requests']} "
          "requests)")
    print(f"  child, fork to exit (parse, predict, write, flush) {status['child_ms']:7.1f} ms (median)")
    print(f"  helper memory {status['memory'] / 2**20:.0f} MiB; cached models: "
          + ", ".join(f"{Path(m['path']).name} ({m['hits']} hits)" for m in status["models"]))

    from flmcli.flm import load
    from flmcli.warm.cache import file_key

    hits = []
    for _ in range(20):
        started = time.perf_counter()
        file_key(str(MODEL), (), False)
        hits.append(time.perf_counter() - started)
    loads = []
    for _ in range(3):
        started = time.perf_counter()
        load(MODEL).estimator  # noqa: B018
        loads.append(time.perf_counter() - started)
    print(f"  model cache hit (stat, read, SHA-256 of {MODEL.stat().st_size} bytes) "
          f"{statistics.median(hits) * 1000:7.2f} ms vs cold load + unpickle {statistics.median(loads) * 1000:.1f} ms"
          " (in this process, libraries already imported)")


if __name__ == "__main__":
    main()
