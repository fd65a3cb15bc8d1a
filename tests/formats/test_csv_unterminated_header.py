"""A CSV file that is one line without its line end (a header alone, `printf 'a,b' > f.csv`) was refused as
"line 1: the header is longer than the CSV reader's block of 4 MiB"; it is now a header like any other, checked
against the model. A file of blanks is still an empty input on both the file and the pipe path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CHURN, invoke, invoke_through_a_pipe

HEADER = ("RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,HasCrCard,"
          "IsActiveMember,EstimatedSalary")
ROW = "1,2,W,792,France,Female,28,4,130142.79,1,1,0,38190.78"


@pytest.mark.parametrize("text", [b"a,b", b"a,b\r"], ids=["no-line-end", "cr"])
def test_a_header_alone_without_its_line_end_names_the_missing_column(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "header.csv"
    path.write_bytes(text)
    ran = invoke("predict", CHURN, path)
    assert (ran.returncode, ran.stderr.decode()) == (1, f"Error: {path}: field 'RowNumber': missing column\n")


def test_the_models_header_alone_without_its_line_end(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text(HEADER)
    ran = invoke("predict", CHURN, path)
    assert (ran.returncode, ran.stdout) == (0, b"prediction\n"), ran.stderr
    assert ran.stderr.decode() == f"Warning: no rows in {path}: nothing scored\n"


def test_a_last_row_without_its_line_end_is_scored(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(f"{HEADER}\n{ROW}\n{ROW}")
    ran = invoke("predict", CHURN, path)
    assert (ran.returncode, ran.stdout) == (0, b"prediction\n0\n0\n"), ran.stderr


@pytest.mark.parametrize("text", [b"   ", b"   \n", b"\n\n"], ids=["blanks", "blank-line", "empty-lines"])
def test_blanks_are_an_empty_input_from_a_file_and_a_pipe(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes(text)
    for ran, name in ((invoke("predict", CHURN, path), str(path)),
                      (invoke_through_a_pipe("predict", CHURN, "--from", "csv", input=text), "<stdin>")):
        # the empty CSV of the output columns, as for a header alone (test_empty_inputs_every_output)
        assert (ran.returncode, ran.stdout) == (0, b"prediction\n"), ran.stderr
        assert ran.stderr.decode() == f"Warning: no rows in {name}: nothing scored\n"
