"""`-o -` is stdout, as `-` is stdin for an input (it wrote a file named "-"); `-o ''` (an unset "$OUT") is a usage
error (Path("") is ".", so it wrote input.json into the current directory, over any file of that name)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import CHURN, ROOT, invoke

INPUT = ROOT / "data" / "input.json"


def test_dash_is_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ran = invoke("predict", CHURN, INPUT, "-o", "-")
    assert (ran.returncode, ran.stdout) == (0, b"[0]\n"), ran.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("output", ["", " "])
def test_an_empty_path_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "input.json").write_text("precious")
    ran = invoke("predict", CHURN, INPUT, "-o", output)
    assert ran.returncode == 2
    assert ran.stderr.decode().startswith("Error: -o: an empty path;")
    assert sorted(os.listdir(tmp_path)) == ["input.json"]
    assert (tmp_path / "input.json").read_text() == "precious"
