"""Peak memory of `flm inspect` on decompression bombs: this checkout against a baseline revision.

    .venv/bin/python bench/container_bombs.py [BASELINE_REV]   (default: b149d53, before issue 7 §2)

Each case is a small hostile file; both versions read it in a fresh process (`flm inspect --json`) and
the script prints its exit status, wall time and peak RSS (GNU time's %M), and the ratio of
this checkout's peak to the baseline's. Runs each case twice, interleaved, and reports both: the machine
is shared, so single figures are noisy.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flmcli.flm import binary  # noqa: E402

META = json.dumps({"id": "0" * 32, "timestamp": "2024-01-01T00:00:00",
                   "framework": {"lib": "sklearn", "version": "1.9.1"},
                   "model": {"obj": "X", "info": None, "params": None, "metrics": None}}).encode()
GIB = 1 << 30


def _zeros_frame(size: int, *, declared: bool) -> bytes:
    out = io.BytesIO()
    cctx = zstandard.ZstdCompressor(level=1, write_content_size=declared)
    with cctx.stream_writer(out, size=size if declared else -1, closefd=False) as writer:
        block = bytes(16 << 20)
        left = size
        while left:
            writer.write(block[: min(left, len(block))])
            left -= min(left, len(block))
    return out.getvalue()


def _with_artifact(frame: bytes) -> bytes:
    entries = binary.ENTRY.pack(8, len(frame)) + b"bomb.bin" + frame
    meta_sec = b"\x00" + zstandard.ZstdCompressor().compress(META)
    art_sec = b"\x00" + binary.COUNT.pack(1) + entries
    model_sec = b"\xff\x00" + b"gARdlC4=\n"
    body = binary.P2_BODY.pack(len(meta_sec), len(art_sec), len(model_sec)) + meta_sec + art_sec + model_sec
    return binary.HEADER.pack(2, 4, len(body)) + body


def _sparse_tar(real_size: int) -> bytes:
    import bz2

    from tests.flm.test_container_bounds import _gnu_sparse_member, _tar_bytes

    return bz2.compress(_tar_bytes(_gnu_sparse_member("artifacts/big", real_size)))


def _run(source: Path, model: Path) -> tuple[int, float, float]:
    """Exit status, wall seconds and peak RSS (MiB, GNU time's %M) of `flm inspect --json model` from `source`."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "PEAK %M", sys.executable, "-m", "flmcli", "inspect", "--json",
                           str(model)], capture_output=True, env={"PYTHONPATH": str(source), "PATH": "/usr/bin:/bin"},
                          cwd=model.parent, timeout=1800, check=False)  # `-m` puts the cwd first on sys.path
    elapsed = time.perf_counter() - start
    peak = next((int(line.split()[1]) for line in done.stderr.decode().splitlines() if line.startswith("PEAK ")), 0)
    code = next((int(line.split()[-1]) for line in done.stderr.decode().splitlines()
                 if line.startswith("Command exited with non-zero status")), done.returncode)
    return code, elapsed, peak / 1024


def main() -> None:
    baseline_rev = sys.argv[1] if len(sys.argv) > 1 else "b149d53"
    with tempfile.TemporaryDirectory(prefix="flm-bomb-bench-") as tmp:
        work = Path(tmp)
        baseline = work / "baseline"
        baseline.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", baseline_rev, "flmcli"], capture_output=True,
                                 check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(baseline, filter="data")
        cases = {
            "zstd 1.9 GiB, no declared size (accepted)": _with_artifact(_zeros_frame(19 * GIB // 10, declared=False)),
            "zstd 2.5 GiB, no declared size (refused)": _with_artifact(_zeros_frame(5 * GIB // 2, declared=False)),
            "zstd 2.5 GiB, declared size (refused)": _with_artifact(_zeros_frame(5 * GIB // 2, declared=True)),
            "GNU sparse tar member, 3 GiB (refused)": _sparse_tar(3 * GIB),
        }
        print(f"{'case':48} {'file':>8} {'version':>9} {'exit':>4} {'time s':>7} {'peak MiB':>9}")
        for name, data in cases.items():
            model = work / "bomb.flm"
            model.write_bytes(data)
            peaks: dict[str, list[float]] = {"this": [], "baseline": []}
            for _round in range(2):
                for label, source in (("this", ROOT), ("baseline", baseline)):
                    code, elapsed, peak = _run(source, model)
                    peaks[label].append(peak)
                    print(f"{name:48} {len(data):>8} {label:>9} {code:>4} {elapsed:>7.1f} {peak:>9.0f}")
            ratio = min(peaks["this"]) / max(min(peaks["baseline"]), 1)
            print(f"{name:48} peak this/baseline = {ratio:.2f}")


if __name__ == "__main__":
    main()
