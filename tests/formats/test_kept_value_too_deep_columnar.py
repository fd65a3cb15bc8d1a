"""A kept input value nested deeper than a Parquet or Arrow file holds is refused naming its row and field (as a
field whose type changes is), rather than written as a file pyarrow cannot read back with default options (Parquet:
"schema too deeply nested" past 100 levels, a list taking 2) or cut short by an unexpected ArrowInvalid (Arrow's
writer stops at 64 levels). The deepest value each holds is written and reads back as it came."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from flmcli.cli import cli
from tests.helpers import CHURN

ROW = {"RowNumber": 1, "CustomerId": 15634602, "Surname": "Hargrave", "CreditScore": 619, "Geography": "France",
       "Gender": "Female", "Age": 42, "Tenure": 2, "Balance": 0.0, "NumOfProducts": 1, "HasCrCard": 1,
       "IsActiveMember": 1, "EstimatedSalary": 101348.88}


def nested(depth: int, kind: str) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def rows(tmp_path: Path, value: Any, at: int = 2, bad_at: int | None = None) -> Path:
    lines = []
    for line in range(1, 4):
        row = dict(ROW, extra=value) if line == at else dict(ROW)
        if line == bad_at:
            del row["Age"]  # a row the model cannot score
        lines.append(orjson.dumps(row))
    path = tmp_path / "rows.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def predict(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["predict", str(CHURN), *map(str, args)])
    return result.exit_code, result.stderr


def read_back(path: Path) -> list[dict[str, Any]]:
    table = pq.read_table(path) if path.suffix == ".parquet" else ipc.open_stream(path).read_all()
    return table.to_pylist()  # type: ignore[no-any-return]


# format, kind, the deepest value the file holds (one level more is refused)
DEEPEST = [("parquet", "list", 49), ("parquet", "struct", 98), ("arrow", "list", 63), ("arrow", "struct", 63)]


@pytest.mark.parametrize("fmt, kind, deepest", DEEPEST)
@pytest.mark.parametrize("keep", [["--keep-input"], ["--keep", "RowNumber,extra"]])
def test_one_level_past_the_limit_is_refused_naming_row_and_field(tmp_path: Path, fmt: str, kind: str, deepest: int,
                                                                   keep: list[str]) -> None:
    target = tmp_path / f"out.{fmt}"
    code, err = predict(rows(tmp_path, nested(deepest + 1, kind)), *keep, "-o", target)
    assert code == 1
    name = {"parquet": "Parquet", "arrow": "Arrow"}[fmt]
    assert err.startswith(f"Error: {tmp_path / 'rows.ndjson'}:2: field 'extra': a kept value is nested deeper than "
                          f"{name} output holds"), err
    assert "unexpected" not in err and "Traceback" not in err


@pytest.mark.parametrize("fmt, kind, deepest", DEEPEST)
def test_the_deepest_value_it_holds_is_written_and_reads_back(tmp_path: Path, fmt: str, kind: str,
                                                               deepest: int) -> None:
    target = tmp_path / f"out.{fmt}"
    code, err = predict(rows(tmp_path, nested(deepest, kind)), "--keep", "RowNumber,extra", "-o", target)
    assert code == 0, err
    written = read_back(target)
    assert len(written) == 3 and written[1]["extra"] == nested(deepest, kind)


def test_the_row_is_named_past_a_skipped_one(tmp_path: Path) -> None:
    code, err = predict(rows(tmp_path, nested(60, "list"), at=3, bad_at=1), "--keep-input", "--on-error", "skip",
                        "-o", tmp_path / "out.parquet")
    assert code == 1
    assert f"{tmp_path / 'rows.ndjson'}:3: field 'extra': a kept value is nested deeper" in err
