"""Library errors become the command's own message and exit status, the same for every command."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

from flmcli.cli import cli
from flmcli.errors import ExitStatus
from tests.helpers import CHURN


@pytest.fixture(scope="module")
def pickled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pack") / "m.pkl"
    path.write_bytes(pickle.dumps(LogisticRegression().fit([[0.0], [1.0]], [0, 1])))
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stderr


def test_pack_bad_timestamp_is_a_usage_error(pickled: Path, tmp_path: Path) -> None:
    code, stderr = invoke("pack", str(pickled), "-o", str(tmp_path / "m.flm"), "--timestamp", "yesterday")
    assert code == ExitStatus.USAGE
    assert "--timestamp" in stderr and "'yesterday' is not an ISO 8601 timestamp" in stderr
    assert "unexpected" not in stderr
    assert not (tmp_path / "m.flm").exists()


def test_pack_unsafe_artifact_name_is_a_usage_error(pickled: Path, tmp_path: Path) -> None:
    code, stderr = invoke("pack", str(pickled), "-o", str(tmp_path / "m.flm"), "--artifact", f"../x={pickled}")
    assert code == ExitStatus.USAGE
    assert "'../x' is not a plain file name" in stderr


def test_pack_a_model_flm_cannot_write_is_an_input_error(
    pickled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flmcli.flm

    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError("flm can only write scikit-learn models, not torch ones")  # what dump says of a torch model

    monkeypatch.setattr(flmcli.flm, "dump", refuse)
    code, stderr = invoke("pack", str(pickled), "-o", str(tmp_path / "m.flm"))
    assert code == ExitStatus.ERROR
    assert stderr == f"Error: {pickled}: flm can only write scikit-learn models, not torch ones\n"


def test_pack_good_timestamp(pickled: Path, tmp_path: Path) -> None:
    code, _ = invoke("pack", str(pickled), "-o", str(tmp_path / "m.flm"), "--timestamp", "2024-05-01T12:00:00")
    assert code == ExitStatus.OK
    assert (tmp_path / "m.flm").exists()


@pytest.mark.parametrize("command", ["predict", "serve"])
def test_unknown_method_is_a_usage_error_for_every_command(command: str) -> None:
    code, stderr = invoke(command, str(CHURN), "--method", "nope")
    assert code == ExitStatus.USAGE  # flm serve loaded the model first and exited 3
    assert "'nope' is not one of" in stderr
