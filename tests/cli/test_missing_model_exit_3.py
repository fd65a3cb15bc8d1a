"""A model file that is missing, a directory or unreadable is exit 3, as every other model load failure is (README,
`flm --help`: '3 model file unreadable, unsafe or unrunnable'): click's path check made it a usage error (exit 2)
in `flm predict` and `flm inspect`, while `flm serve` already said 3. One line naming the file, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CHURN_DATA, invoke

ROWS = CHURN_DATA / "input.json"


def _one_line(stderr: bytes, path: Path, reason: str) -> None:
    lines = stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: {path}: cannot read the model file") and reason in lines[0]


@pytest.mark.parametrize("command, after", [("predict", []), ("predict", [str(ROWS)]), ("inspect", []),
                                            ("inspect", ["--audit"])])
def test_a_missing_model_is_exit_3(tmp_path: Path, command: str, after: list[str]) -> None:
    missing = tmp_path / "no-such-model.flm"
    ran = invoke(command, missing, *after, input=b'{"a": 1}\n')
    assert ran.returncode == 3, ran.stderr
    assert ran.stdout == b""
    _one_line(ran.stderr, missing, "No such file")


@pytest.mark.parametrize("command", ["predict", "inspect"])
def test_a_directory_as_model_is_exit_3(tmp_path: Path, command: str) -> None:
    ran = invoke(command, tmp_path, input=b'{"a": 1}\n')
    assert ran.returncode == 3, ran.stderr
    _one_line(ran.stderr, tmp_path, "directory")


def test_an_output_file_is_not_made_for_a_missing_model(tmp_path: Path) -> None:
    out = tmp_path / "scored.ndjson"
    ran = invoke("predict", tmp_path / "gone.flm", ROWS, "-o", out)
    assert ran.returncode == 3, ran.stderr
    assert not out.exists()


def test_serve_says_the_same(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model.flm"
    ran = invoke("serve", missing)
    assert ran.returncode == 3, ran.stderr
    _one_line(ran.stderr, missing, "No such file")


def test_a_missing_input_is_still_exit_1_and_names_it(tmp_path: Path) -> None:
    from tests.helpers import CHURN

    ran = invoke("predict", CHURN, tmp_path / "no-rows.ndjson")
    assert ran.returncode == 1, ran.stderr
    assert "no-rows.ndjson" in ran.stderr.decode()
