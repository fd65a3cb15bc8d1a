"""--on-error skip drops bad rows and reports them on stderr: what it writes has the outputs only, no `error`
field, in every output format and whether a row was dropped or not (an empty `error` column under skip was
written by CSV, TSV, Parquet and Arrow, not by NDJSON). --on-error null keeps its `error` field."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.csv
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, invoke

HEADER = ("RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,HasCrCard,"
          "IsActiveMember,EstimatedSalary")
ROWS = [
    "1,15634602,Hargrave,619,France,Female,42,2,0.0,1,1,1,101348.88",
    "2,15647311,Hill,608,Spain,Female,41,1,83807.86,1,0,1,112542.58",
    "3,15619304,Onio,502,France,Female,42,8,159660.8,3,1,0,113931.57",
    "4,15701354,Boni,699,France,Female,39,1,0.0,2,0,0,93826.63",
]
# 'abc' for Age: a bad row (in the reader's first block, whose types are inferred from all its rows)
BAD = "3,15619304,Onio,502,France,Female,abc,8,159660.8,3,1,0,113931.57"


def columns(path: Path, fmt: str) -> list[str]:
    if fmt == "parquet":
        return pq.read_schema(path).names
    if fmt == "arrow":
        with pa.ipc.open_stream(path) as stream:
            return stream.schema.names
    if fmt in ("csv", "tsv"):
        options = pyarrow.csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
        return pyarrow.csv.read_csv(io.BytesIO(path.read_bytes()), parse_options=options).column_names
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "arrow"])
@pytest.mark.parametrize("bad", [True, False])
def test_skip_writes_the_outputs_only(tmp_path: Path, fmt: str, bad: bool) -> None:
    rows = list(ROWS)
    if bad:
        rows[2] = BAD
    source = tmp_path / "in.csv"
    source.write_text("\n".join([HEADER, *rows]) + "\n")
    target = tmp_path / f"out.{fmt}"
    ran = invoke("predict", CHURN, source, "--on-error", "skip", "-o", target)
    assert ran.returncode == (5 if bad else 0), ran.stderr
    assert columns(target, fmt) == ["prediction"]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "arrow"])
def test_null_keeps_its_error_column_on_good_batches(tmp_path: Path, fmt: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text("\n".join([HEADER, *ROWS]) + "\n")
    target = tmp_path / f"out.{fmt}"
    ran = invoke("predict", CHURN, source, "--on-error", "null", "-o", target)
    assert ran.returncode == 0, ran.stderr
    assert columns(target, fmt) == ["prediction", "error"]


def test_skip_to_stdout_csv_as_ndjson_has_no_error_field(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("\n".join([HEADER, ROWS[0], BAD, ROWS[1]]) + "\n")
    as_csv = invoke("predict", CHURN, source, "--on-error", "skip")
    as_ndjson = invoke("predict", CHURN, source, "--on-error", "skip", "--to", "ndjson")
    assert as_csv.returncode == as_ndjson.returncode == 5
    assert as_csv.stdout == b"prediction\n0\n0\n"
    assert as_ndjson.stdout == b'{"prediction":0}\n{"prediction":0}\n'
    assert as_csv.stderr.count(b'"line":3') == 1


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "parquet"])
def test_skip_keeps_an_input_field_named_error(tmp_path: Path, fmt: str) -> None:
    """flm writes no `error` under skip, so a kept input field of that name is written as it came, unwarned."""
    source = tmp_path / "in.csv"
    source.write_text("\n".join([HEADER + ",error", ROWS[0] + ",e1", BAD + ",e2", ROWS[1] + ",e3"]) + "\n")
    target = tmp_path / f"out.{fmt}"
    ran = invoke("predict", CHURN, source, "--on-error", "skip", "--keep", "RowNumber,error", "-o", target)
    assert ran.returncode == 5, ran.stderr
    assert b"replaced" not in ran.stderr
    if fmt == "ndjson":
        import orjson

        kept = [orjson.loads(line)["error"] for line in target.read_bytes().splitlines()]
    elif fmt == "parquet":
        kept = pq.read_table(target).column("error").to_pylist()
    else:
        kept = pyarrow.csv.read_csv(target).column("error").to_pylist()
    assert kept == ["e1", "e3"]
