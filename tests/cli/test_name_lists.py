"""--features and --keep name each field once: a name given twice is a usage error (exit 2) naming it, not a
model error blamed on line 1 of the input (--features) or a column written twice (--keep into CSV)."""

from __future__ import annotations

import pytest

from tests.helpers import CHURN, CHURN_DATA, invoke

FEATURES = ("RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,HasCrCard,"
            "IsActiveMember,EstimatedSalary")


@pytest.mark.parametrize("option, value", [("--features", FEATURES.replace("Tenure", "Age")),
                                           ("--keep", "Age, Age")])
def test_a_name_given_twice_is_a_usage_error(option: str, value: str) -> None:
    ran = invoke("predict", CHURN, CHURN_DATA / "data.parquet", "--to", "csv", option, value)
    assert ran.returncode == 2, ran.stderr
    err = ran.stderr.decode()
    assert option in err and "'Age'" in err and "twice" in err, err
    assert ran.stdout == b""


def test_the_full_list_still_works() -> None:
    ran = invoke("predict", CHURN, CHURN_DATA / "input.json", "--features", FEATURES)
    assert ran.returncode == 0, ran.stderr
