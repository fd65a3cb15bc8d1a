"""`flm serve` that cannot listen (the port is taken, the address does not resolve) is exit 1 naming the address:
uvicorn's own exit status for that is 3, which flm documents as 'model file unreadable or unsafe'. A port outside
0-65535 is a usage error (70000 listened on 70000 - 65536)."""

from __future__ import annotations

import socket

import pytest

from tests.helpers import CHURN, invoke


def test_a_port_in_use_is_exit_1_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = invoke("serve", CHURN, "--port", str(port), "--log-level", "critical")
    assert ran.returncode == 1, ran.stderr
    assert f"127.0.0.1:{port}" in ran.stderr.decode()


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_port_out_of_range_is_a_usage_error(port: str) -> None:
    # The model does not exist: were the port accepted, the run would stop there (exit 3), never listening.
    ran = invoke("serve", "--port", port, CHURN.with_name("no-such-model.flm"))
    assert ran.returncode == 2, ran.stderr
    assert "--port" in ran.stderr.decode()
