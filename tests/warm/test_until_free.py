"""The warm tests wait for the helper to be free before a warm run they compare with a cold one: the greeting is
not enough (the helper greets waiting clients just before it imports what a child reported, or loads its model),
so a run started then waited on that work and, past HELLO_TIMEOUT under load, ran cold with a warning ('exit2-option'
in test_parity failed on an extra 'Warning: ...' line on stderr). conftest.until_free asks for the status too."""

from __future__ import annotations

import socket
import sys
import tempfile
import threading

from flmcli.warm import paths, protocol
from tests.warm.conftest import until_free
from tests.warm.test_greeting import EVENTS, recording_helper


def test_until_free_returns_after_the_work_the_helper_greeted_before() -> None:
    failures: list[BaseException] = []
    with tempfile.TemporaryDirectory(prefix="flmw-") as directory:
        helper = recording_helper(directory)

        def serve() -> None:
            try:
                helper.serve()
            except BaseException as error:  # noqa: BLE001 - reported by the test
                failures.append(error)

        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        loop = threading.Thread(target=serve, daemon=True)
        try:
            client.settimeout(30)
            client.connect(paths.socket_path(directory))  # waits in the backlog, as a test's client after a run
            # what a child that imported a slow module reports before it exits (0.3 s to import)
            helper.child_reports.send(protocol.encode({"imported": ["tests.warm.slow_import"]}))
            loop.start()
            until_free(client)
            # greeted before the import (what a greeting alone would have returned on), answered after it
            assert EVENTS == ["hello", "imported", "answer"], EVENTS
        finally:
            client.close()
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stop:
                stop.settimeout(30)
                stop.connect(paths.socket_path(directory))
                stop.sendall(protocol.encode({"op": "stop"}))
                stop.recv(4096)
            loop.join(timeout=30)
            helper.selector.close()
            helper.reports.close()
            helper.child_reports.close()
            sys.modules.pop("tests.warm.slow_import", None)
    assert not loop.is_alive() and not failures, failures
