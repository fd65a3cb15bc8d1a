"""--keep-input of a CSV whose header names a column twice is refused, naming it: into JSON or NDJSON one of the
two values was dropped silently (a record holds one field of a name), into CSV or Parquet the next stage would
read either. Without --keep-input a column the model does not take is ignored, twice or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CHURN, invoke

HEADER = ("RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,HasCrCard,"
          "IsActiveMember,EstimatedSalary")
ROW = "1,15634602,Hargrave,619,France,Female,42,2,0,1,1,1,101348.88"


@pytest.mark.parametrize("out", ["ndjson", "json", "csv", "parquet"])
def test_keeping_a_column_named_twice_is_refused(tmp_path: Path, out: str) -> None:
    source = tmp_path / "rows.csv"
    source.write_text(f"{HEADER},note,note\n{ROW},a,b\n")
    ran = invoke("predict", CHURN, source, "--keep-input", "-o", tmp_path / f"scored.{out}")
    assert ran.returncode == 1
    assert ran.stderr.decode().splitlines() == [
        f"Error: {source}: field 'note': the input has 2 columns of this name",
        "Hint: rename one, or keep the others with --keep"]


def test_without_keep_input_it_is_ignored(tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    source.write_text(f"{HEADER},note,note\n{ROW},a,b\n")
    ran = invoke("predict", CHURN, source, "--to", "ndjson")
    assert (ran.returncode, ran.stdout) == (0, b'{"prediction":0}\n'), ran.stderr
    kept = invoke("predict", CHURN, source, "--keep", "Age,Surname", "--to", "ndjson")
    assert (kept.returncode, kept.stdout) == (0, b'{"Age":42,"Surname":"Hargrave","prediction":0}\n'), kept.stderr
