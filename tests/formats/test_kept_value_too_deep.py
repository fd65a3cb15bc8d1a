"""A kept input value nested deeper than JSON output can write (orjson writes 255 levels; input may nest 1024):
NDJSON and JSON outputs stop at that row with a one-line error naming its line and field, the rows before it
written, instead of an "unexpected TypeError" with no place and no rows. CSV output writes it."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from flmcli.cli import cli
from tests.helpers import CHURN

ROW = {"RowNumber": 1, "CustomerId": 15634602, "Surname": "Hargrave", "CreditScore": 619, "Geography": "France",
       "Gender": "Female", "Age": 42, "Tenure": 2, "Balance": 0.0, "NumOfProducts": 1, "HasCrCard": 1,
       "IsActiveMember": 1, "EstimatedSalary": 101348.88}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


def rows(depth: int, tmp_path: Path) -> Path:
    """Three rows, the second with a field `extra` nested `depth` levels."""
    plain = orjson.dumps(ROW)
    deep = plain[:-1] + b',"extra":' + nested(depth) + b"}"
    path = tmp_path / "rows.ndjson"
    path.write_bytes(b"\n".join([plain, deep, plain, b""]))
    return path


def predict(*args: str | Path) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["predict", str(CHURN), *map(str, args)])
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.mark.parametrize("keep", [["--keep-input"], ["--keep", "extra"]])
@pytest.mark.parametrize("on_error", ["fail", "null"])
def test_ndjson_output_names_the_row_and_writes_those_before(tmp_path: Path, keep: list[str], on_error: str) -> None:
    code, out, err = predict(rows(300, tmp_path), *keep, "--on-error", on_error)
    assert code == 1
    assert f"{tmp_path / 'rows.ndjson'}:2: field 'extra': a kept value is nested deeper than JSON output can " \
           "write (255 levels)" in err
    assert "unexpected" not in err and "Traceback" not in err
    lines = out.splitlines()
    assert len(lines) == 1 and orjson.loads(lines[0])["prediction"] in (0, 1)


def test_json_output_stops_at_the_row(tmp_path: Path) -> None:
    code, _, err = predict(rows(300, tmp_path), "--keep-input", "--to", "json")
    assert code == 1
    assert ":2: field 'extra': a kept value is nested deeper" in err and "unexpected" not in err


def test_a_depth_json_can_write_is_kept_as_it_came(tmp_path: Path) -> None:
    code, out, err = predict(rows(250, tmp_path), "--keep", "extra")
    assert code == 0, err
    assert out.splitlines()[1] == b'{"extra":' + nested(250) + b',"prediction":0}'


def test_csv_output_writes_the_deep_value(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, _, err = predict(rows(300, tmp_path), "--keep", "extra", "-o", target)
    assert code == 0, err
    with target.open(newline="") as written:
        cells = list(csv.reader(written))
    assert cells == [["extra", "prediction"], ["", "0"], [nested(300).decode(), "0"], ["", "0"]]
