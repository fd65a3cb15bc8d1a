"""A value the model refuses is echoed as the user wrote it (`inf`), not as numpy's repr (`np.float64(inf)`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.helpers import CHURN, DATA, invoke


def test_an_infinite_csv_value_is_echoed_plainly(tmp_path: Path) -> None:
    frame = pd.read_parquet(DATA).drop(columns=["Exited"]).head(5)
    text = frame.to_csv(index=False).splitlines()
    fields = text[3].split(",")
    fields[list(frame.columns).index("Age")] = "inf"
    text[3] = ",".join(fields)
    (tmp_path / "rows.csv").write_text("\n".join(text) + "\n")
    ran = invoke("predict", CHURN, tmp_path / "rows.csv")
    assert ran.returncode == 1
    err = ran.stderr.decode()
    assert "rows.csv:4: field 'Age': the model cannot use the value inf (" in err, err
    assert "np." not in err
