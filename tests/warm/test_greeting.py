"""The helper greets a waiting client before work that can take seconds (importing what a child imported,
loading a model it reported): a client that is not greeted within HELLO_TIMEOUT runs cold, with a warning."""

from __future__ import annotations

import socket
import sys
import tempfile
from typing import Any

from flmcli.warm import paths, protocol
from flmcli.warm.server import Helper

EVENTS: list[str] = []


def recording_helper(directory: str) -> Helper:
    """A helper listening in `directory` that records in EVENTS each greeting ("hello") and other answer it sends;
    tests.warm.slow_import, once imported, records "imported" there."""
    EVENTS.clear()
    sys.modules.pop("tests.warm.slow_import", None)
    helper = Helper(directory, idle=0, cache_limit=1)
    helper.listen()
    sent = helper._send

    def send(conn: Any, message: dict[str, Any]) -> None:
        EVENTS.append("hello" if message.get("flm") == "warm" else "answer")
        sent(conn, message)

    helper._send = send  # type: ignore[method-assign]
    return helper


def test_a_waiting_client_is_greeted_before_the_helper_imports() -> None:
    with tempfile.TemporaryDirectory(prefix="flmw-") as directory:
        helper = recording_helper(directory)
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            client.settimeout(5)
            client.connect(paths.socket_path(directory))  # waits in the backlog: the helper has not accepted it
            helper.child_reports.send(protocol.encode({"imported": ["tests.warm.slow_import"]}))
            helper._report()
            assert EVENTS == ["hello", "imported"]
            assert protocol.decode(client.recv(1 << 16).split(b"\n")[0])["flm"] == "warm"
        finally:
            client.close()
            for conn in helper.conns.values():
                conn.sock.close()
            helper.close_listener()
            helper.selector.close()
            helper.reports.close()
            helper.child_reports.close()
            sys.modules.pop("tests.warm.slow_import", None)
