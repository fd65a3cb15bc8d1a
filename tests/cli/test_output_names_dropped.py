"""--output-name with names for several outputs (predict_proba's classes): names that repeat, or a count that is
not the outputs', are refused (exit 2). `x,x` wrote one column 'x' holding the second class only (the first was
dropped silently: two fields of one name), and `a,b,c` for two classes wrote a_0, a_1."""

from __future__ import annotations

import pytest

from tests.helpers import CHURN, invoke

ROW = b'[[10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]]'


@pytest.mark.parametrize("names, message", [
    ("x,x", "--output-name names the output 'x' twice"),
    (" , ", "--output-name names the output '' twice"),
    ("a,b,c", "--output-name gives 3 names for the 2 outputs of predict_proba"),
])
@pytest.mark.parametrize("to", ["ndjson", "csv"])
def test_names_that_would_drop_an_output_are_refused(names: str, message: str, to: str) -> None:
    ran = invoke("predict", CHURN, "--from", "json", "--to", to, "--method", "predict_proba", "--output-name", names,
                 input=ROW)
    assert ran.returncode == 2, ran.stdout
    assert ran.stderr.decode().splitlines()[0] == f"Error: {message}"
    assert ran.stdout == b""


@pytest.mark.parametrize("names, header", [("a,b", b"a,b"), ("p", b"p_0,p_1")])
def test_names_for_each_output_or_a_prefix_still_work(names: str, header: bytes) -> None:
    ran = invoke("predict", CHURN, "--from", "json", "--to", "csv", "--method", "predict_proba", "--output-name",
                 names, input=ROW)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0] == header
