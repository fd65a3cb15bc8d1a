"""How long small requests wait while large bodies in another charset arrive: interleaved A/B, never asserted.

    .venv/bin/python bench/bench_charset_loop.py REF_A REF_B [--rounds K] [--bodies N] [--mb M] [--charset utf-16-le]

Each ref's flmcli/ (as bench_ab.py takes it: a git ref, or WORKTREE) serves the iris model (`flmcli.serve.run`),
then is sent small v2 requests back to back, idle and while each of --bodies v2 bodies of about M MB in the charset,
with a bad sequence at its end, is sent and answered (the server decodes the whole body, then answers 400, with no
model call that would queue the small requests behind it). Printed per ref and round: the small requests' latency
idle, and for each large body the slowest small request sent meanwhile (what a decode holding the event loop or the
GIL stalls), as median, min and max; and the 1-minute load.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ab import checkout
from bench_predict import PY, ROOT

IRIS = ROOT / "tests" / "data" / "flm-corpus" / "flama-2.2.2_iris-logreg_zstd_p2.flm"
SMALL = b'{"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]}'
# After the text, what the charset cannot decode (a lone high surrogate; a code point past U+10FFFF), and its width.
BAD_END = {"utf-16-le": b"\x00\xd8", "utf-16-be": b"\xd8\x00", "utf-32-le": b"\xff\xff\xff\xff"}
WIDTH = {"utf-16-le": 2, "utf-16-be": 2, "utf-32-le": 4}


class Round(NamedTuple):
    idle: list[float]  # small requests' latency with nothing else sent
    worst: list[float]  # for each large body, the longest a small request sent meanwhile took
    big: list[int]  # the large bodies' statuses
    load: float


def serve(folder: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    code = f"from flmcli.serve import run\nrun({{'iris': {str(IRIS)!r}}}, port=0)\n"
    with log.open("wb") as err:
        process = subprocess.Popen([PY, "-c", code], stdout=subprocess.DEVNULL, stderr=err,
                                   env={**os.environ, "PYTHONPATH": str(folder), "FLM_WARM": "0"})
    deadline = time.monotonic() + 120
    while (found := re.search(r"127\.0\.0\.1:(\d+)", log.read_text())) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start:\n{log.read_text()}")
        time.sleep(0.1)
    url = f"http://127.0.0.1:{found.group(1)}"
    while True:
        try:
            if httpx.get(url + "/v2/health/ready").status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)


def latency(client: httpx.Client, url: str) -> float:
    start = time.perf_counter()
    response = client.post(url + "/v2/models/iris/infer", content=SMALL)
    assert response.status_code == 200, response.text
    return (time.perf_counter() - start) * 1000


def round_of(folder: Path, big: bytes, charset: str, log: Path, bodies: int) -> Round:
    """Small requests back to back, idle, then while each of `bodies` large bodies is sent and answered."""
    process, url = serve(folder, log)
    try:
        with httpx.Client(timeout=120) as sender, httpx.Client(timeout=120) as client:
            idle = [latency(client, url) for _ in range(100)]
            worst: list[float] = []
            statuses: list[int] = []
            for _ in range(bodies):
                done = threading.Event()

                def send() -> None:
                    statuses.append(sender.post(url + "/v2/models/iris/infer", content=big,
                                                headers={"content-type": f"application/json; charset={charset}"})
                                    .status_code)
                    done.set()

                thread = threading.Thread(target=send)
                thread.start()
                taken = [latency(client, url)]
                while not done.is_set():
                    taken.append(latency(client, url))
                thread.join()
                worst.append(max(taken))
        return Round(idle, worst, statuses, os.getloadavg()[0])
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)


def spread(values: list[float]) -> str:
    ranked = sorted(values)
    return f"median {statistics.median(ranked):6.1f}  min {ranked[0]:6.1f}  max {ranked[-1]:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("refs", nargs=2, metavar="REF")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bodies", type=int, default=8, help="large bodies per ref and round (default 8)")
    parser.add_argument("--mb", type=float, default=50.0, help="size of each large body (default 50)")
    parser.add_argument("--charset", choices=sorted(BAD_END), default="utf-16-le")
    args = parser.parse_args()
    values = int(args.mb * 1e6 / WIDTH[args.charset] / 5)
    text = '{"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 4], "data": [' + "5.1, " * values
    big = text.encode(args.charset) + BAD_END[args.charset]
    print(f"large bodies {len(big) / 1e6:.1f} MB of {args.charset}, bad at the end; load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-charset-") as tmp:
        folders = {ref: checkout(ref, Path(tmp)) for ref in args.refs}
        for number in range(1, args.rounds + 1):
            for ref, folder in folders.items():
                got = round_of(folder, big, args.charset, Path(tmp) / "server.log", args.bodies)
                print(f"round {number} {ref:>12}  load {got.load:.2f}  large bodies {sorted(set(got.big))}")
                print(f"    idle, each small request         {spread(got.idle)}")
                print(f"    the slowest small one per large  {spread(got.worst)}")


if __name__ == "__main__":
    main()
