"""Suite-wide pytest set-up: keeping `xdist_group` modules together on one xdist worker."""

from __future__ import annotations

import pytest


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
