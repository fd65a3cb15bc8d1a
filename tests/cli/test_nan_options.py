"""'nan' passes click's FloatRange (no comparison fails), so `--timeout nan` made every request of a server a 500
and `--max-delay nan` a pipe that is never flushed early: each seconds option refuses it as a usage error."""

from __future__ import annotations

import pytest

from tests.helpers import CHURN, CHURN_DATA, invoke


@pytest.mark.parametrize("command, option", [
    ("predict", "--max-delay"),
    ("serve", "--timeout"),
    ("serve", "--header-timeout"),
    ("serve", "--max-batch-delay-ms"),
])
def test_nan_is_a_usage_error(command: str, option: str) -> None:
    # The option comes first and the model does not exist: were nan accepted, the run stops at the model (exit 2,
    # without naming the option) instead of starting a server.
    ran = invoke(command, option, "nan", CHURN.with_name("no-such-model.flm"),
                 *([CHURN_DATA / "input.json"] if command == "predict" else []))
    assert ran.returncode == 2, ran.stderr
    assert option in ran.stderr.decode() and "nan" in ran.stderr.decode()


def test_numbers_still_pass() -> None:
    ran = invoke("predict", CHURN, CHURN_DATA / "input.json", "--max-delay", "0.5")
    assert ran.returncode == 0, ran.stderr
