"""--output-name with a list of names for a method of one output (predict) is refused (exit 2), as a list of the
wrong count is for several outputs (test_output_names_dropped): `a,b` named the one column "a,b"."""

from __future__ import annotations

import pytest

from tests.cli.test_output_names_dropped import ROW
from tests.helpers import CHURN, invoke


@pytest.mark.parametrize("to", ["ndjson", "csv"])
def test_a_list_of_names_for_one_output_is_refused(to: str) -> None:
    ran = invoke("predict", CHURN, "--from", "json", "--to", to, "--output-name", "a,b", input=ROW)
    assert ran.returncode == 2, ran.stdout
    assert ran.stderr.decode().splitlines()[0] == "Error: --output-name gives 2 names for the 1 output of predict"
    assert ran.stdout == b""


def test_one_name_for_one_output_still_names_it() -> None:
    ran = invoke("predict", CHURN, "--from", "json", "--to", "ndjson", "--output-name", "score", input=ROW)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == b'{"score":0}\n'
