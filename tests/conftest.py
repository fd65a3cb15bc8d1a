"""Suite-wide pytest set-up: one OpenMP/BLAS thread per process, Ctrl-C as a terminal gives it, and `xdist_group`
modules kept on one xdist worker."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """One OpenMP and BLAS thread in each test process, and SIGINT for the processes the tests start."""
    _one_pool_thread()
    _sigint_as_from_a_terminal()


def _one_pool_thread() -> None:
    """OMP_NUM_THREADS=1 (OpenBLAS reads it too) for the xdist workers and every process the tests start.

    The suite already runs one xdist worker per core, and the `flm` processes, servers and Dask workers the tests
    start run beside them: an OpenMP or OpenBLAS pool of one thread per core in each of those processes has its
    idle threads spin-wait for the next call on cores the other processes need. On 2 busy cores that cost the
    suite about a sixth of its CPU time (the scikit-learn sweep alone went from 31 s to 9 s); scikit-learn's own
    test suite limits its pools under xdist the same way. Set here, before anything imports numpy, and inherited
    by the workers and their children; a value the caller set is kept. flm leaves a thread count the user set
    alone, so its own policy (BLAS gets one core less than the machine) is tested where the tests unset it:
    tests/job/test_model_threads.py.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _sigint_as_from_a_terminal() -> None:
    """The processes the tests start get SIGINT as a foreground job in a terminal does.

    A shell starts a background job (`make test &`, `nohup ... &`, a CI runner's detached step) with SIGINT
    ignored, and every process below inherits that through exec: Python then rightly installs no
    KeyboardInterrupt handler, so `flm predict` ignores the Ctrl-C a test sends and the test waits out its
    timeout. That was the "intermittent" Ctrl-C hang of test_pipes and tests/warm: it came with how the suite
    was launched. A handler set here is reset to the default by exec, so children start as they would from a
    terminal. Each xdist worker runs this too.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each `xdist_group` test the `@group` id suffix that `--dist loadgroup` schedules by.

    pytest-xdist 3.8 adds the suffix by assigning `item._nodeid`, which pytest 9.2 no longer reads (its node
    ids became structured): the marks are then silently ignored and a module's costly module-scoped fixtures
    (a warm helper, a Dask cluster, a server) start once per worker (pytest-xdist issue #1386). Once xdist
    does it again, the suffix is already there and this does nothing.
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers under --dist loadgroup only
        return
    from _pytest.nodeid import NodeId

    for item in items:
        if "@" in item.nodeid.rpartition("]")[2]:
            continue
        groups = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                         for mark in item.iter_markers("xdist_group")})
        if groups:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


@pytest.fixture(scope="session")
def plain_flm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/plain_model.py's model as an FLM file, for `flm` processes whose point is not the model (pass
    `--trust` with tests.plain_model.TRUST and `plain_model.process_env()`)."""
    from tests.plain_model import plain_model

    return plain_model(tmp_path_factory.mktemp("plain") / "plain.flm")
