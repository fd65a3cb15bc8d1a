"""CSV rows pyarrow cannot split (a short or long row) are bad rows like any other: --on-error decides, and the
message names the real line. Rows and fields beyond the reader's block get a clear message."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd
import pytest
from click.testing import CliRunner

from flmcli.cli import cli
from flmcli.formats.csv_format import BLOCK_SIZE

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "samples" / "churn.flm"


@pytest.fixture(scope="module")
def lines() -> list[str]:
    frame = pd.read_parquet(ROOT / "data" / "data.parquet").drop(columns=["Exited"]).head(20)
    return frame.to_csv(index=False).splitlines()  # the header, then data rows on lines 2..21


def run(tmp_path: Path, text: str, *args: str) -> tuple[int, list[dict[str, object]], str]:
    source = tmp_path / "rows.csv"
    source.write_text(text)
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(source), "--to", "ndjson", *args])
    return result.exit_code, [orjson.loads(line) for line in result.stdout.splitlines()], result.stderr


def broken(lines: list[str], at: list[int], how: str = "short") -> str:
    out = list(lines)
    for line in at:  # 1-based line numbers, the header being line 1
        fields = out[line - 1].split(",")
        out[line - 1] = ",".join(fields[:-1] if how == "short" else [*fields, "9"])
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("how, got", [("short", 12), ("long", 14)])
def test_a_row_of_the_wrong_width_stops_the_run_naming_its_line(tmp_path: Path, lines: list[str], how: str,
                                                               got: int) -> None:
    code, out, err = run(tmp_path, broken(lines, [5], how))
    assert code == 1
    assert len(out) == 3  # the rows before it are written
    assert f"rows.csv:5: expected 13 fields, got {got}" in err


@pytest.mark.parametrize("batch_size", ["4", "65536"])
def test_on_error_null_keeps_the_short_rows_in_place(tmp_path: Path, lines: list[str], batch_size: str) -> None:
    code, out, err = run(tmp_path, broken(lines, [2, 9, 21]), "--on-error", "null", "--batch-size", batch_size)
    assert code == 0, err
    assert len(out) == 20
    nulls = [i for i, row in enumerate(out) if row["prediction"] is None]
    assert nulls == [0, 7, 19]
    assert "rows.csv:9: expected 13 fields, got 12" in str(out[7]["error"])


def test_on_error_skip_reports_each_short_row(tmp_path: Path, lines: list[str]) -> None:
    code, out, err = run(tmp_path, broken(lines, [3, 10]), "--on-error", "skip", "--batch-size", "4")
    assert code == 5
    assert len(out) == 18
    reports = [orjson.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [report["line"] for report in reports] == [3, 10]


def test_a_row_beyond_the_block_size_is_named(tmp_path: Path, lines: list[str]) -> None:
    huge = lines[1].split(",")
    huge[2] = "x" * (2 * BLOCK_SIZE + 10)
    code, _, err = run(tmp_path, "\n".join([*lines[:3], ",".join(huge), *lines[3:]]) + "\n")
    assert code == 1
    assert f"longer than the CSV reader's block of {BLOCK_SIZE >> 20} MiB" in err
    assert len(err) < 1000


def test_a_header_beyond_the_block_size_is_not_an_empty_file(tmp_path: Path, lines: list[str]) -> None:
    code, out, err = run(tmp_path, lines[0] + "," + "h" * (BLOCK_SIZE + 10) + "\n" + lines[1] + ",1\n")
    assert code == 1
    assert "line 1: the header is longer than the CSV reader's block" in err
    assert out == []
