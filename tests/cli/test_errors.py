"""The command's one error funnel, in-process: one line and an exit status, or the traceback when asked."""

from __future__ import annotations

import pytest

import flmcli.flm
from flmcli.errors import InputError
from tests.helpers import CHURN, CORPUS, invoke


def test_an_input_error_is_one_line_and_exit_1() -> None:
    result = invoke("predict", CHURN, input=b"{oops\n")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("Error: <stdin>:1: invalid JSON")
    assert b"Traceback" not in result.stderr


def test_traceback_flag_is_read_from_the_commands_own_arguments() -> None:
    # anywhere on the command line, and not from sys.argv (which, in-process, is pytest's)
    result = invoke("predict", CHURN, "--traceback", input=b"{oops\n")
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert stderr.startswith("Traceback (most recent call last):")
    assert f"{InputError.__module__}.InputError: <stdin>:1: invalid JSON" in stderr


@pytest.mark.parametrize(("args", "status"), [
    (("predict", "no-such-model.flm"), 3),
    (("inspect", "no-such-model.flm"), 3),
    (("predict", CHURN, "--on-error", "skip"), 5),
])
def test_traceback_keeps_the_exit_status(args: tuple[str, ...], status: int) -> None:
    # the documented statuses hold with --traceback too (re-raised, every error ended with Python's 1)
    result = invoke(*args, "--traceback", input=b"[[1, 2]]\n")
    assert result.returncode == status
    assert "Traceback (most recent call last):" in result.stderr.decode()


def test_an_unforeseen_exception_is_still_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire\nand more detail")

    monkeypatch.setattr(flmcli.flm, "load", broken)
    result = invoke("inspect", CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm")
    assert result.returncode == 1
    assert result.stderr.decode() == (
        "Error: unexpected RuntimeError: disk on fire\nHint: run again with --traceback to see where\n"
    )


def test_usage_errors_exit_2_naming_the_option() -> None:
    result = invoke("predict", CHURN, "--on-error", "explode", input=b"")
    assert result.returncode == 2
    assert "--on-error" in result.stderr.decode()
    assert "Usage: flm predict" in result.stderr.decode()
