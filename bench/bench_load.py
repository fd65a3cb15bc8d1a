"""Cold-start load time of the churn model per file layout: flmcli.load against the Flama releases that read it.

Every measurement is a fresh interpreter (imports included), timed from the outside; the readers of one file take
turns run by run, so load from other processes falls on all of them alike. The table shows the median of --runs
runs and ratios against flm's own time on the same file, all measured in this one run. Baselines in the same run:
bare interpreter start-up, `import sklearn`, and importing the scikit-learn modules the churn pickle needs, which
together bound how fast any reader can be. Flama readers come from compat/flama_env.py
(built on first use, cached afterwards); a reader whose environment cannot be built is skipped and said so.

    python bench/bench_load.py [--runs 3] [--corpus DIR] [--no-bare]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "compat"))

import flama_env  # noqa: E402  (compat/ is a script folder, not a package)

CORPUS = ROOT / "tests" / "data" / "flm-corpus"

# The Flama releases that read each layout (docs/format.md §11); the older one of each pair shows the spread.
READERS = {"p1": ("2.2.2", "1.12.4"), "p2": ("2.2.2",), "tar": ("1.7.2", "1.4.0"), "bare": ("1.0.2",)}

FLM_LOAD = "import sys, flmcli; flmcli.load(sys.argv[1]).estimator"
FLM_META = "import sys, flmcli; flmcli.load(sys.argv[1]).meta"
# Flama's load API changed per release (docs/format.md §12); `.model` is where 2.x materialises the model.
FLAMA_LOAD = {
    "stream": "import sys, flama; flama.load(open(sys.argv[1], 'rb')).model",
    "path": "import sys, flama; flama.load(sys.argv[1]).model",
    "keyword": "import sys, flama; flama.load(path=sys.argv[1]).model",
}
SKLEARN_FOR_CHURN = ("import sklearn.pipeline, sklearn.compose, sklearn.impute, sklearn.preprocessing, "
                     "sklearn.neural_network")


@dataclass
class Timing:
    label: str
    seconds: float | None  # median; None when the command failed
    error: str = ""


def _flama_snippet(release: str) -> str:
    major_minor = tuple(int(p) for p in release.split(".")[:2])
    if major_minor < (1, 1):
        return FLAMA_LOAD["stream"]
    if major_minor < (1, 12):
        return FLAMA_LOAD["path"]
    return FLAMA_LOAD["keyword"]


def measure_group(commands: list[tuple[str, list[str]]], runs: int) -> list[Timing]:
    """Time each command `runs` times, taking turns, so load from other processes hits all of them alike."""
    samples: dict[int, list[float]] = {i: [] for i in range(len(commands))}
    errors: dict[int, str] = {}
    for _ in range(runs):
        for i, (_label, cmd) in enumerate(commands):
            if i in errors:
                continue
            started = time.perf_counter()
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
            elapsed = time.perf_counter() - started
            if proc.returncode != 0:
                lines = proc.stderr.strip().splitlines()
                errors[i] = lines[-1][:160] if lines else f"exit {proc.returncode}"
                continue
            samples[i].append(elapsed)
    return [Timing(label, None, errors[i]) if i in errors else Timing(label, statistics.median(samples[i]))
            for i, (label, _cmd) in enumerate(commands)]


def _layout(path: Path) -> str:
    return path.stem.rsplit("_", 1)[-1]


def _flm_cli() -> list[str] | None:
    """`flm inspect` if the installed CLI works; the team's CLI may not exist yet."""
    flm = shutil.which("flm", path=str(Path(sys.executable).parent)) or shutil.which("flm")
    if flm and subprocess.run([flm, "--help"], capture_output=True).returncode == 0:
        return [flm, "inspect"]
    return None


def _fmt(timing: Timing, reference: float | None) -> str:
    if timing.seconds is None:
        return f"  {timing.label:<34} {'failed':>8}  {timing.error}"
    ratio = f"{timing.seconds / reference:6.2f}x" if reference else "      -"
    return f"  {timing.label:<34} {timing.seconds * 1000:7.0f}ms {ratio}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is shown (default 3)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no-bare", action="store_true", help="leave out the 1.0.x bare files (not churn models)")
    args = parser.parse_args(argv)

    files = sorted(args.corpus.glob("*churn*.flm"))
    if not args.no_bare:
        # No 1.0.x release could save a Pipeline, so the bare layout is represented by the iris model instead.
        files += sorted(args.corpus.glob("*iris*_bare.flm"))
    if not files:
        print(f"no churn files under {args.corpus}", file=sys.stderr)
        return 1

    pythons: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    for release in sorted({r for readers in READERS.values() for r in readers}):
        try:
            env = flama_env.ensure_env(release)
        except flama_env.EnvBuildError as exc:
            skipped[release] = str(exc).splitlines()[-1]
            continue
        pythons[release] = env.python
        if not env.cached:
            print(f"built Flama {release} environment in {env.build_seconds:.1f}s", file=sys.stderr)

    me = sys.executable
    print(f"cold-start load time, median of {args.runs} fresh processes; ratios are against flm on the same file")
    print("baselines (this interpreter):")
    startup, sk_import, sk_churn = measure_group([
        ("python -c pass", [me, "-c", "pass"]),
        ("import sklearn", [me, "-c", "import sklearn"]),
        ("import sklearn modules of churn", [me, "-c", SKLEARN_FOR_CHURN]),
    ], args.runs)
    for timing in (startup, sk_import, sk_churn):
        print(_fmt(timing, None))

    inspect = _flm_cli()
    flm_times: list[float] = []
    for path in files:
        layout = _layout(path)
        print(f"{path.name}  [{layout}]")
        commands = [("flmcli.load(p).estimator", [me, "-c", FLM_LOAD, str(path)])]
        if "churn" in path.name and layout == "p2" and "zstd" in path.name:
            if inspect:
                commands.append(("flm inspect", [*inspect, str(path)]))
            else:
                commands.append(("flmcli.load(p).meta (no flm CLI)", [me, "-c", FLM_META, str(path)]))
        for release in READERS.get(layout, ()):
            if release in pythons:
                commands.append((f"Flama {release}", [str(pythons[release]), "-c", _flama_snippet(release), str(path)]))
            else:
                print(f"  Flama {release:<28} skipped: {skipped.get(release, 'not built')}")
        flm, *others = measure_group(commands, args.runs)
        print(_fmt(flm, None))
        if flm.seconds is not None:
            flm_times.append(flm.seconds)
        for timing in others:
            print(_fmt(timing, flm.seconds))

    if flm_times and sk_churn.seconds and sk_import.seconds:
        typical = statistics.median(flm_times)
        print(f"median flm load over {len(flm_times)} files: {typical * 1000:.0f}ms; of that, `import sklearn` is "
              f"{sk_import.seconds / typical:.0%} and importing the churn pickle's sklearn modules "
              f"{sk_churn.seconds / typical:.0%} (interpreter start-up alone {startup.seconds / typical:.0%})")
    for release, reason in skipped.items():
        print(f"skipped Flama {release}: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
