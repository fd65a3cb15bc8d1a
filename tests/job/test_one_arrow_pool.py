"""`flm predict` has all of Arrow allocate from one pool, jemalloc, where pyarrow is built with it: the C++ parts'
own allocations too (Parquet pages and dictionaries, compute kernels), which pyarrow.set_memory_pool does not reach
and which stayed in mimalloc beside it. The pool is fixed when pyarrow is imported, so this takes a process."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from flmcli import job
from tests.helpers import CHURN, DATA, ROOT
from tests.job.test_arrow_allocator import _jemalloc

# What a `flm predict` process ends with: its output, then the pool Arrow's C++ parts allocate from.
PREDICT = """
import atexit, sys
def pool():
    import pyarrow as pa
    import os
    sys.stderr.write("pool:" + pa.default_memory_pool().backend_name + "\\n")
    sys.stderr.write("options:" + os.environ.get("JE_ARROW_MALLOC_CONF", "") + "\\n")
atexit.register(pool)
from flmcli.cli import main
sys.argv = ["flm", "predict", *sys.argv[1:]]
main()
"""


def _predict(tmp_path: Path, *args: str, pool: str | None = None, options: str | None = None
             ) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("ARROW_DEFAULT_MEMORY_POOL", "JE_ARROW_MALLOC_CONF")}
    env.update(FLM_WARM="0", PYTHONPATH=str(ROOT))
    if pool is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = pool
    if options is not None:
        env["JE_ARROW_MALLOC_CONF"] = options
    return subprocess.run([sys.executable, "-c", PREDICT, *args], capture_output=True, env=env, cwd=tmp_path,
                          timeout=120, check=False)


@pytest.mark.skipif(not _jemalloc(), reason="pyarrow built without jemalloc")
def test_flm_predict_takes_all_of_arrows_memory_from_jemalloc(tmp_path: Path) -> None:
    ran = _predict(tmp_path, str(CHURN), str(DATA))
    assert ran.returncode == 0, ran.stderr
    assert len(ran.stdout.splitlines()) == 10000
    # no warning from Arrow about its pool, nor from jemalloc about its options
    assert ran.stderr.decode().splitlines() == ["pool:jemalloc", f"options:{job.JEMALLOC_OPTIONS}"]


@pytest.mark.skipif(not _jemalloc(), reason="pyarrow built without jemalloc")
def test_jemalloc_options_the_user_gave_are_kept(tmp_path: Path) -> None:
    ran = _predict(tmp_path, str(CHURN), str(DATA), options="dirty_decay_ms:0")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.decode().splitlines() == ["pool:jemalloc", "options:dirty_decay_ms:0"]


def test_the_pool_the_user_chose_is_kept(tmp_path: Path) -> None:
    ran = _predict(tmp_path, str(CHURN), str(DATA), pool="system")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.decode().splitlines() == ["pool:system", "options:"]  # nor are jemalloc's options set


def test_nothing_is_set_once_pyarrow_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ARROW_DEFAULT_MEMORY_POOL", "JE_ARROW_MALLOC_CONF"):
        monkeypatch.setenv(name, "")  # unset, and put back as it was after the test
        monkeypatch.delenv(name)
    assert "pyarrow" in sys.modules  # imported above: its pool is fixed, the variable would say something untrue
    job.one_arrow_pool()
    assert "ARROW_DEFAULT_MEMORY_POOL" not in os.environ and "JE_ARROW_MALLOC_CONF" not in os.environ


def _installed(monkeypatch: pytest.MonkeyPatch, folder: Path, config: str | None) -> None:
    """A pyarrow package in `folder`, its build configuration holding `config` (None: no such file)."""
    if config is not None:
        (folder / "include" / "arrow" / "util").mkdir(parents=True)
        (folder / "include" / "arrow" / "util" / "config.h").write_text(config)
    spec = types.SimpleNamespace(submodule_search_locations=[str(folder)])
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec if name == "pyarrow" else None)


@pytest.mark.parametrize(("config", "has"), [
    ("#define ARROW_JEMALLOC\n#define ARROW_JEMALLOC_VENDORED\n#define ARROW_MIMALLOC\n", True),
    ("/* #undef ARROW_JEMALLOC */\n#define ARROW_MIMALLOC\n", False),
    ("#define ARROW_JEMALLOC_VENDORED\n", False),
    (None, False),
])
def test_jemalloc_is_asked_for_only_where_the_build_has_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: str | None, has: bool
) -> None:
    _installed(monkeypatch, tmp_path, config)
    assert job._arrow_has_jemalloc() is has
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "")  # unset, and put back as it was after the test
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
    monkeypatch.delitem(sys.modules, "pyarrow")
    job.one_arrow_pool()
    assert os.environ.get("ARROW_DEFAULT_MEMORY_POOL") == ("jemalloc" if has else None)
