"""`flm predict m.flm a.csv missing.csv -o DIR/` names the missing input before anything is written: it scored
a.csv into DIR/ first, then failed, leaving a partial output folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.helpers import CHURN, DATA, invoke


def test_a_missing_input_is_named_before_any_output(tmp_path: Path) -> None:
    pd.read_parquet(DATA).head(5).to_csv(tmp_path / "a.csv", index=False)
    ran = invoke("predict", CHURN, tmp_path / "a.csv", tmp_path / "missing.csv", tmp_path / "dir", "-o",
                 f"{tmp_path / 'out'}/")
    assert ran.returncode == 1
    assert "missing.csv: cannot open" in ran.stderr.decode(), ran.stderr
    assert not (tmp_path / "out").exists()
