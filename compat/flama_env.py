"""Throwaway virtual environments holding real Flama releases, for checking flm's files against them.

Each environment gets one Flama release plus the scikit-learn, numpy and scipy versions of the interpreter
running this module, so a model pickled here predicts bit-for-bit the same over there. Environments live under
``$FLM_COMPAT_DIR`` (default ``~/.cache/flm-compat``), one directory per (release, Python, library versions);
a finished one carries a ``ready.json`` stamp and is reused as is, so a second call costs one file read.

Command line: ``python compat/flama_env.py [RELEASE ...]`` builds (or finds) the environments and prints
their interpreter paths and build times.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# What each release needs beyond itself just to `import flama` and `flama.load(...)` (docs/format.md §13, and
# found by trying): every release wants one schema library, hence the pydantic extra; 1.7 - 1.10 import httpx
# without declaring it and need a uvicorn old enough to still have `uvicorn.config.LoopSetupType`.
EXTRA_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "2.2.2": (),
    "1.12.4": (),
    "1.7.2": ("httpx", "uvicorn<=0.34.0"),
    "1.4.0": ("httpx", "uvicorn<=0.34.0"),
    "1.0.2": ("httpx", "uvicorn<=0.34.0"),
}

# Libraries whose versions must match the running interpreter's for predictions to compare exactly.
PINNED_FROM_HOST = ("scikit-learn", "numpy", "scipy")

STAMP = "ready.json"


class EnvBuildError(RuntimeError):
    """A Flama environment could not be created (pip failed, or the result cannot import flama)."""


@dataclass(frozen=True)
class FlamaEnv:
    release: str
    root: Path
    python: Path
    build_seconds: float  # time it took to build; 0.0 when it came from the cache
    cached: bool


def compat_dir() -> Path:
    configured = os.environ.get("FLM_COMPAT_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "flm-compat"


def requirements(release: str) -> list[str]:
    reqs = [f"flama[pydantic]=={release}", *EXTRA_REQUIREMENTS.get(release, ())]
    for dist in PINNED_FROM_HOST:
        try:
            reqs.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return reqs


def _env_root(release: str, reqs: list[str], base: Path) -> Path:
    # The directory name changes whenever the pins or the Python do, so an upgraded host never reuses a stale env.
    key = json.dumps([sys.version_info[:2], reqs]).encode()
    digest = hashlib.sha256(key).hexdigest()[:10]
    return base / f"flama-{release}-py{sys.version_info[0]}{sys.version_info[1]}-{digest}"


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        # pip's useful line is at the end; its location warnings for local mirrors are noise at the top.
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise EnvBuildError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def ensure_env(release: str, *, base: Path | None = None) -> FlamaEnv:
    """Return a ready environment for ``release``, building it first if the cache lacks it."""
    reqs = requirements(release)
    base = base or compat_dir()
    base.mkdir(parents=True, exist_ok=True)
    root = _env_root(release, reqs, base)
    python = root / "bin" / "python"
    stamp = root / STAMP
    # A lock per environment: parallel test workers or two CI steps must not build into the same directory.
    with open(f"{root}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and python.exists():
            return FlamaEnv(release, root, python, 0.0, cached=True)
        # No stamp means a previous build died half-way: start clean rather than trust its site-packages.
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        _run([sys.executable, "-m", "venv", str(root)], f"python -m venv {root}")
        _run(
            [str(python), "-m", "pip", "install", "--quiet", "--no-input", "--disable-pip-version-check", *reqs],
            f"pip install {' '.join(reqs)}",
        )
        _run([str(python), "-c", "import flama, flama.serialize"], f"import flama in Flama {release} env")
        seconds = time.perf_counter() - started
        stamp.write_text(json.dumps({"release": release, "requirements": reqs, "build_seconds": seconds}))
        return FlamaEnv(release, root, python, seconds, cached=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("releases", nargs="*", default=["2.2.2", "1.12.4"], help="Flama releases (default: 2.2.2 1.12.4)")
    args = parser.parse_args(argv)
    status = 0
    for release in args.releases:
        try:
            env = ensure_env(release)
        except EnvBuildError as exc:
            print(f"{release}\tFAILED\t{exc}", file=sys.stderr)
            status = 1
            continue
        how = "cached" if env.cached else f"built in {env.build_seconds:.1f}s"
        print(f"{release}\t{env.python}\t{how}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
