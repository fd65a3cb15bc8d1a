"""Suite-wide pytest set-up: Ctrl-C as a terminal gives it, and `xdist_group` modules kept on one xdist worker."""

from __future__ import annotations

import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
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
