"""The warm cache keys only regular files of a model file's size, opening without blocking: anything else is loaded
the cold way, whose bounded read refuses it as a cold `flm predict` does.

A child looked `flm predict /dev/zero MODEL...` up by reading the whole path first: it took memory until the
machine or a limit stopped it (cold: 'not an FLM model file' at once). A FIFO blocked the lookup's open, and the
helper's own (single-threaded) load of a path that had become a FIFO would have blocked the helper for every
client."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from flmcli.warm.cache import ModelCache, file_key

from .conftest import CHURN, ROOT


def _returns_within(seconds: float, call: object) -> list[object]:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)  # type: ignore[operator]
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    return result


def test_a_fifo_is_not_looked_up_nor_cached(tmp_path: Path) -> None:
    fifo = tmp_path / "model.flm"
    os.mkfifo(fifo)  # nobody writes: a blocking open waits forever
    cache = ModelCache(1 << 30)
    assert _returns_within(10, lambda: cache.lookup(str(fifo), (), False)) == [None]
    assert _returns_within(10, lambda: cache.add(str(fifo), str(fifo), (), False)) == [None]
    assert not cache.entries
    with pytest.raises(OSError, match="not a regular file"):
        file_key(str(fifo), (), False)


def test_dev_zero_is_not_read_to_the_end() -> None:
    # In a process of its own, under an address-space limit of what it holds plus 512 MiB: read whole, /dev/zero
    # ends in MemoryError there rather than in the machine's memory.
    script = (
        "import resource\n"
        "from flmcli.warm.cache import ModelCache\n"
        "pages = int(open('/proc/self/statm').read().split()[0])\n"
        "limit = pages * resource.getpagesize() + (512 << 20)\n"
        "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
        "print(ModelCache(1 << 30).lookup('/dev/zero', (), False))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "None\n", "")


def test_a_model_file_is_still_keyed_and_cached(tmp_path: Path) -> None:
    model = tmp_path / "churn.flm"
    model.write_bytes(CHURN.read_bytes())
    cache = ModelCache(1 << 30)
    cache.add(str(model), str(model), (), False)
    found = cache.lookup(str(model), (), False)
    assert found is not None and found[0][2] == model.stat().st_size
