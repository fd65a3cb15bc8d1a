"""`flm serve` against MLServer 1.7.1 with adaptive batching, single-row requests, on 127.0.0.1 only.

    python bench/bench_mlserver.py [--requests 2000] [--rounds 3] [--max-batch-size 64] [--max-batch-time 0.005]

MLServer runs from a throwaway venv outside the repository (FLM_BENCH_MLSERVER, default
~/.cache/flm-bench/mlserver-1.7.1), built on first use with mlserver==1.7.1, mlserver-sklearn==1.7.1 (uvloop 0.21, see ERA_PINS) and the
scikit-learn, numpy, scipy and pandas versions of .ci/constraints.txt, so both servers run the same estimator
code. The churn pipeline of samples/churn.flm is exported with joblib into an MLServer model folder with adaptive
batching on. Its columns include strings, so requests use MLServer's pandas content type
(`"parameters": {"content_type": "pd"}`, one v2 tensor per column), which the sklearn runtime decodes into a
DataFrame; flm's v2 route gets the very same body, and flm's `/predict/` the same rows as Flama's `{"input": ...}`.

Rounds are interleaved (each round runs every server at c=1, 16, 64), the load generator is the one of
bench_serve.py (threads on keep-alive http.client connections), every run is a fixed number of requests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve import free_port, load, load_avg, percentile, rows, start  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "samples" / "churn.flm"
VERSION = "1.7.1"
VENV = Path(os.environ.get("FLM_BENCH_MLSERVER", Path.home() / ".cache" / "flm-bench" / f"mlserver-{VERSION}"))
# What the served estimator needs to run as flm runs it: the versions flm's own tests pin.
SAME_AS_FLM = ("scikit-learn", "numpy", "scipy", "pandas")
# MLServer 1.7.1's inference-pool workers call asyncio.get_event_loop() in a fresh process, which uvloop 0.22 and
# later refuse ("There is no current event loop"): the workers die in a loop and the model never loads.
ERA_PINS = ("uvloop==0.21.0",)
NAMES = ["RowNumber", "CustomerId", "Surname", "CreditScore", "Geography", "Gender", "Age", "Tenure", "Balance",
         "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary"]
LEVELS = (1, 16, 64)


def pins() -> list[str]:
    wanted = {}
    for line in (ROOT / ".ci" / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip() in SAME_AS_FLM:
            wanted[name.strip()] = f"{name.strip()}=={version.strip()}"
    missing = set(SAME_AS_FLM) - set(wanted)
    if missing:
        raise SystemExit(f".ci/constraints.txt does not pin {', '.join(sorted(missing))}")
    return list(wanted.values())


def mlserver_venv() -> Path:
    binary = VENV / "bin" / "mlserver"
    if binary.exists():
        return binary
    print(f"building {VENV} (mlserver=={VERSION}, {', '.join(pins())})", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", f"mlserver=={VERSION}",
                    f"mlserver-sklearn=={VERSION}", "joblib", *ERA_PINS, *pins()], check=True)
    return binary


def model_folder(folder: Path, http_port: int, max_batch_size: int, max_batch_time: float) -> None:
    """The churn estimator as MLServer's sklearn runtime loads it: a joblib file and its model-settings."""
    import joblib

    import flmcli

    joblib.dump(flmcli.load(MODEL).estimator, folder / "model.joblib")
    (folder / "settings.json").write_text(json.dumps({
        "host": "127.0.0.1", "http_port": http_port, "grpc_port": free_port(), "metrics_port": free_port(),
        "debug": False, "metrics_dir": str(folder / "metrics"),
    }))
    (folder / "model-settings.json").write_text(json.dumps({
        "name": "churn", "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "1"},
        "max_batch_size": max_batch_size, "max_batch_time": max_batch_time,
    }))


def v2_single(row: list[Any]) -> bytes:
    """One row as per-column v2 tensors in MLServer's pandas content type; numbers FP64, text BYTES."""
    inputs = []
    for name, value in zip(NAMES, row):
        if isinstance(value, str):
            inputs.append({"name": name, "datatype": "BYTES", "shape": [1], "data": [value]})
        else:
            inputs.append({"name": name, "datatype": "FP64", "shape": [1], "data": [float(value)]})
    return json.dumps({"parameters": {"content_type": "pd"}, "inputs": inputs,
                       "outputs": [{"name": "predict"}]}).encode()


def check_same_answers(flm_url: str, ml_url: str, bodies: list[bytes], flama: list[bytes]) -> None:
    import httpx

    for body, plain in zip(bodies[:50], flama[:50]):
        a = httpx.post(flm_url + "/v2/models/churn/infer", content=body, timeout=30).json()
        b = httpx.post(ml_url + "/v2/models/churn/infer", content=body, timeout=30).json()
        c = httpx.post(flm_url + "/predict/", content=plain, timeout=30).json()
        assert a["outputs"][0]["data"] == b["outputs"][0]["data"] == c["output"], (a, b, c)


def stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description="flm serve vs MLServer 1.7.1 (adaptive batching), on 127.0.0.1")
    parser.add_argument("--requests", type=int, default=2000, help="single-row requests per run at c=16 and 64 "
                        "(a quarter at c=1)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-batch-size", type=int, default=64, help="MLServer's adaptive batching")
    parser.add_argument("--max-batch-time", type=float, default=0.005, help="MLServer's adaptive batching (s)")
    args = parser.parse_args()

    binary = mlserver_venv()
    data = rows(args.requests)
    v2_bodies = [v2_single(row) for row in data]
    flama_bodies = [json.dumps({"input": [row]}).encode() for row in data]
    work = Path(tempfile.mkdtemp(prefix="bench-mlserver-"))
    folder = work / "churn"
    folder.mkdir()
    ml_port, flm_port = free_port(), free_port()
    model_folder(folder, ml_port, args.max_batch_size, args.max_batch_time)
    ml_url, flm_url = f"http://127.0.0.1:{ml_port}", f"http://127.0.0.1:{flm_port}"
    code = f"from flmcli.serve import run\nrun({{'churn': {str(MODEL)!r}}}, port={flm_port}, log_level='warning')"
    processes = {"flm": start([sys.executable, "-c", code], flm_url, "/v2/health/ready", work / "flm.log")}
    try:
        # Started from its own folder: MLServer writes files (metrics) under its working directory.
        processes["mlserver"] = start([str(binary), "start", str(folder)], ml_url, "/v2/models/churn/ready",
                                      work / "mlserver.log", cwd=folder)
    except BaseException:
        stop(processes)
        raise
    # (label, url, path, bodies): MLServer and flm's v2 route get the same bytes.
    targets = [
        ("flm v2", flm_url, "/v2/models/churn/infer", v2_bodies),
        ("flm /predict/", flm_url, "/predict/", flama_bodies),
        ("mlserver", ml_url, "/v2/models/churn/infer", v2_bodies),
    ]
    figures: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    loads: list[str] = []
    try:
        check_same_answers(flm_url, ml_url, v2_bodies, flama_bodies)
        print("answers: flm v2, flm /predict/ and MLServer agree on the first 50 rows", flush=True)
        for label, url, path, bodies in targets:
            load(url, bodies[:200], 8, path)  # warm up (MLServer's inference pool, flm's first batches)
        print(f"MLServer adaptive batching: max_batch_size {args.max_batch_size}, max_batch_time "
              f"{args.max_batch_time}s; load average before: {load_avg()}", flush=True)
        for round_ in range(args.rounds):
            for label, url, path, bodies in targets:
                for level in LEVELS:
                    count = len(bodies) // 4 if level == 1 else len(bodies)
                    seconds, latencies, errors = load(url, bodies[:count], level, path)
                    assert errors == 0, f"{label}: {errors} errors"
                    result = (count / seconds, percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000)
                    figures.setdefault((label, level), []).append(result)
                    print(f"round {round_ + 1} {label:>14} c={level:<3} {result[0]:7.0f} req/s  p50 {result[1]:6.2f} ms"
                          f"  p99 {result[2]:6.2f} ms", flush=True)
            loads.append(load_avg())
            print(f"round {round_ + 1} load average: {loads[-1]}", flush=True)
    finally:
        stop(processes)
    print(f"\nmedians of {args.rounds} interleaved rounds (range in brackets); load averages after each round: "
          f"{', '.join(loads)}")
    for level in LEVELS:
        for label, *_ in targets:
            got = figures[(label, level)]
            req = [g[0] for g in got]
            print(f"c={level:<3} {label:>14}: {statistics.median(req):7.0f} req/s [{min(req):.0f}-{max(req):.0f}]  "
                  f"p50 {statistics.median(g[1] for g in got):6.2f} ms  p99 {statistics.median(g[2] for g in got):6.2f} ms")
        ml = statistics.median(g[0] for g in figures[("mlserver", level)])
        for label in ("flm v2", "flm /predict/"):
            mine = [g[0] for g in figures[(label, level)]]
            per_round = [a / b[0] for a, b in zip(mine, figures[("mlserver", level)])]
            print(f"c={level:<3} {label}/mlserver: {statistics.median(mine) / ml:.2f}x (per round "
                  f"{min(per_round):.2f}-{max(per_round):.2f}x)" + (" -- target >= 2x" if level == 64 else ""))


if __name__ == "__main__":
    main()
