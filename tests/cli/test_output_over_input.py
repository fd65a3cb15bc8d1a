"""`-o FILE` naming the input (or the model) is refused before anything is written, exit 2, as `-o DIR/` already
refused an output that would replace an input: `flm predict m.flm rows.csv -o rows.csv` replaced the rows with
their predictions, and `-o m.flm` the model with them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import CHURN, DATA, invoke


@pytest.fixture
def rows(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    pd.read_parquet(DATA).head(5).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("spelling", ["same", "dot", "absolute", "hard link"])
def test_an_output_that_is_the_input_is_refused(tmp_path: Path, rows: Path, spelling: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = rows.read_bytes()
    output = {"same": "rows.csv", "dot": "./rows.csv", "absolute": str(rows), "hard link": "link.csv"}[spelling]
    if spelling == "hard link":
        os.link(rows, tmp_path / "link.csv")
    ran = invoke("predict", CHURN, "rows.csv", "-o", output)
    assert ran.returncode == 2, ran.stderr
    assert "would replace the input" in ran.stderr.decode()
    assert rows.read_bytes() == before


def test_an_output_that_is_the_model_is_refused(tmp_path: Path, rows: Path) -> None:
    model = tmp_path / "m.flm"
    shutil.copy(CHURN, model)
    ran = invoke("predict", model, rows, "-o", model, "--to", "ndjson")
    assert ran.returncode == 2, ran.stderr
    assert "would replace the model" in ran.stderr.decode()
    assert model.read_bytes() == CHURN.read_bytes()


def test_another_output_file_is_written(tmp_path: Path, rows: Path) -> None:
    ran = invoke("predict", CHURN, rows, "-o", tmp_path / "scored.csv")
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "scored.csv").read_text().splitlines()[0] == "prediction"
