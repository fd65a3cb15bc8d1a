"""A kept input value nested deeper than JSON output can write (orjson writes 255 levels; input may nest 1024):
NDJSON and JSON outputs stop at that row with a one-line error naming its line and field, the rows before it
written, instead of an "unexpected TypeError" with no place and no rows. CSV output writes it.

Under --on-error null or skip it is a bad row like any other: its outputs null and its error written (null), or
dropped and reported on stderr with exit 5 (skip), and the run goes on; it stopped the whole run under both."""

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


def rows(depth: int, tmp_path: Path, deep_at: tuple[int, ...] = (2,), count: int = 3) -> Path:
    """`count` rows, those at `deep_at` (from 1) with a field `extra` nested `depth` levels."""
    plain = orjson.dumps(ROW)
    deep = plain[:-1] + b',"extra":' + nested(depth) + b"}"
    path = tmp_path / "rows.ndjson"
    path.write_bytes(b"\n".join([deep if line in deep_at else plain for line in range(1, count + 1)] + [b""]))
    return path


def written(out: bytes, to: str) -> list[dict[str, object]]:
    return orjson.loads(out) if to == "json" else [orjson.loads(line) for line in out.splitlines()]  # type: ignore[no-any-return]


def predict(*args: str | Path) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["predict", str(CHURN), *map(str, args)])
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.mark.parametrize("keep", [["--keep-input"], ["--keep", "extra"]])
def test_ndjson_output_names_the_row_and_writes_those_before(tmp_path: Path, keep: list[str]) -> None:
    code, out, err = predict(rows(300, tmp_path), *keep)
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


@pytest.mark.parametrize("to", ["ndjson", "json"])
@pytest.mark.parametrize("keep", [["--keep-input"], ["--keep", "extra"], ["--keep", "Surname,extra"]])
def test_under_null_the_row_is_written_null_with_its_error(tmp_path: Path, keep: list[str], to: str) -> None:
    code, out, err = predict(rows(300, tmp_path), *keep, "--on-error", "null", "--to", to)
    assert code == 0, err
    objects = written(out, to)
    assert len(objects) == 3
    assert objects[1]["error"] == (f"{tmp_path / 'rows.ndjson'}:2: field 'extra': a kept value is nested deeper than "
                                   "JSON output can write (255 levels)")
    assert objects[1]["prediction"] is None and objects[1]["extra"] is None
    if "--keep-input" in keep or "Surname,extra" in keep:
        assert objects[1]["Surname"] == "Hargrave"  # a field JSON can write is kept: the row can be found
    for good in (objects[0], objects[2]):
        assert good["prediction"] in (0, 1) and "error" not in good


@pytest.mark.parametrize("to", ["ndjson", "json"])
def test_under_skip_the_row_is_dropped_reported_and_the_run_goes_on(tmp_path: Path, to: str) -> None:
    # Two batches, a deep row in each, and no row the model fails on (so no batch had errors before writing).
    code, out, err = predict(rows(300, tmp_path, deep_at=(2, 5), count=6), "--keep-input", "--on-error", "skip",
                             "--to", to, "--batch-size", "3")
    assert code == 5, err
    objects = written(out, to)
    assert [obj["RowNumber"] for obj in objects] == [1, 1, 1, 1] and all("extra" not in obj for obj in objects)
    reports = [orjson.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [(report["line"], report["error"].split(": ", 1)[1]) for report in reports] == [
        (2, "field 'extra': a kept value is nested deeper than JSON output can write (255 levels)"),
        (5, "field 'extra': a kept value is nested deeper than JSON output can write (255 levels)"),
    ]
    assert "2 row(s) skipped" in err


@pytest.mark.parametrize("to", ["ndjson", "json"])
@pytest.mark.parametrize("deep_at", [(1, 3), (1, 2, 3)], ids=["batches-of-none-between", "every-row"])
def test_under_skip_a_batch_of_only_such_rows_writes_nothing(tmp_path: Path, to: str, deep_at: tuple[int, ...]) -> None:
    # A batch whose every row was dropped added a separator before nothing: "[,{...}]", which no reader takes.
    code, out, err = predict(rows(300, tmp_path, deep_at=deep_at), "--keep-input", "--on-error", "skip", "--to", to,
                             "--batch-size", "1")
    assert code == 5, err
    assert len(written(out, to)) == 3 - len(deep_at)
