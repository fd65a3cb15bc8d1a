"""An input of no rows that still names its columns (a CSV header, a Parquet or Arrow schema) is checked against
the model as rows would be: the wrong columns fail now, naming the file and the missing column, instead of
"no rows: nothing scored" and exit 0 on the day the export came out empty and a later failure when rows came.
Inputs that name no columns (empty text, `[]`) still warn and exit 0."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import ipc

from tests.helpers import CHURN, invoke, invoke_through_a_pipe

COLUMNS = ("RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,HasCrCard,"
           "IsActiveMember,EstimatedSalary").split(",")
WRONG = ["a", "b", "c"]


def _write(path: Path, fmt: str, names: list[str]) -> Path:
    schema = pa.schema([(name, pa.string() if name in ("Surname", "Geography", "Gender") else pa.float64())
                        for name in names])
    if fmt == "csv":
        path.write_text(",".join(names) + "\n")
    elif fmt == "tsv":
        path.write_text("\t".join(names) + "\n")
    elif fmt == "parquet":
        pq.write_table(schema.empty_table(), path)
    elif fmt == "arrow-file":
        with ipc.new_file(path, schema):
            pass
    elif fmt == "arrow-stream":
        with ipc.new_stream(path, schema):
            pass
    elif fmt == "arrow-stream-dictionary":
        dictionary = pa.schema([(name, pa.dictionary(pa.int32(), pa.string())) for name in names])
        with ipc.new_stream(path, dictionary):
            pass
    return path


SUFFIX = {"csv": ".csv", "tsv": ".tsv", "parquet": ".parquet", "arrow-file": ".arrow", "arrow-stream": ".arrows",
          "arrow-stream-dictionary": ".arrows"}
FORMATS = list(SUFFIX)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_rows_of_the_wrong_columns_fail_naming_the_column(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path / f"empty{SUFFIX[fmt]}", fmt, WRONG)
    ran = invoke("predict", CHURN, path, "--to", "ndjson")
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr.decode() == f"Error: {path}: field 'RowNumber': missing column\n"
    assert ran.stdout == b""


@pytest.mark.parametrize("fmt", [fmt for fmt in FORMATS if fmt != "arrow-stream-dictionary"])
def test_no_rows_of_the_models_columns_still_warn_and_exit_0(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path / f"empty{SUFFIX[fmt]}", fmt, COLUMNS)
    ran = invoke("predict", CHURN, path, "--to", "ndjson")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.decode() == f"Warning: no rows in {path}: nothing scored\n"
    assert ran.stdout == b""


def test_a_header_alone_gives_a_header_alone_and_a_readable_parquet_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.csv", "csv", COLUMNS)
    ran = invoke("predict", CHURN, path)
    assert (ran.returncode, ran.stdout) == (0, b"prediction\n")
    out = tmp_path / "scored.parquet"
    assert invoke("predict", CHURN, path, "-o", out).returncode == 0
    table = pq.read_table(out)
    assert (table.num_rows, table.column_names) == (0, ["prediction"])


@pytest.mark.parametrize("text", [b"a,b,c\n", b"a,b,c", b"a,b,c\r\n", b"\n\na,b,c\n"], ids=["lf", "no-line-end", "crlf",
                                                                                         "blank-lines-first"])
def test_a_header_alone_through_a_pipe_fails_the_same(text: bytes) -> None:
    ran = invoke_through_a_pipe("predict", CHURN, "--from", "csv", input=text)
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr.decode() == "Error: <stdin>: field 'RowNumber': missing column\n"


def test_a_header_alone_of_the_models_columns_through_a_pipe() -> None:
    ran = invoke_through_a_pipe("predict", CHURN, "--from", "csv", input=",".join(COLUMNS).encode())
    assert (ran.returncode, ran.stdout) == (0, b"prediction\n"), ran.stderr
    assert ran.stderr == b"Warning: no rows in <stdin>: nothing scored\n"


@pytest.mark.parametrize("text", [b"", b"\n\n", b"[]"], ids=["empty", "blank-lines", "json-empty-array"])
def test_inputs_that_name_no_columns_still_warn(text: bytes) -> None:
    fmt = "json" if text == b"[]" else "csv"
    for ran in (invoke("predict", CHURN, "--from", fmt, input=text),
                invoke_through_a_pipe("predict", CHURN, "--from", fmt, input=text)):
        assert ran.returncode == 0, ran.stderr
        assert ran.stderr == b"Warning: no rows in <stdin>: nothing scored\n"
