"""A CSV separated by ';' (a European spreadsheet export) or '|' reads as one column named after the whole header:
the error says what the header looks like instead of only naming the model's first missing feature."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import CHURN, DATA, invoke


@pytest.mark.parametrize("separator", [";", "|"])
def test_a_header_split_by_another_separator_is_pointed_out(tmp_path: Path, separator: str) -> None:
    pd.read_parquet(DATA).head(3).to_csv(tmp_path / "rows.csv", index=False, sep=separator)
    ran = invoke("predict", CHURN, tmp_path / "rows.csv")
    assert ran.returncode == 1
    err = ran.stderr.decode()
    assert "rows.csv: field 'RowNumber': missing column" in err, err
    assert f"separated by {separator!r}" in err, err
