"""`--keep FIELD` where some rows lack FIELD: the row is scored and written, its kept field null, under every
--on-error, in every output format; a CSV, Parquet or Arrow input with no such column at all is still refused (no row
of it can hold the field: a typo). `flm serve`'s `?keep=` gives the same answer, through the same encoders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from click.testing import CliRunner

from flmcli.cli import cli
from tests.formats.test_columnar_outputs import read
from tests.formats.test_json_inputs import predict
from tests.helpers import CHURN, DATA


def rows(count: int = 6) -> list[dict[str, Any]]:
    frame = pd.read_parquet(DATA).drop(columns=["Exited"]).head(count)
    out = [{key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()}
           for row in frame.to_dict("records")]
    for i, row in enumerate(out):
        row["id"] = f"r{i}"
    return out


def lacking(*indices: int) -> list[dict[str, Any]]:
    records = rows()
    for i in indices:
        del records[i]["id"]
    return records


def ndjson(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(row) + b"\n" for row in records)


@pytest.mark.parametrize("on_error", ["fail", "null", "skip"])
@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_a_row_lacking_a_kept_field_keeps_it_as_null(tmp_path: Path, fmt: str, on_error: str) -> None:
    records = lacking(2)
    data = ndjson(records) if fmt == "ndjson" else orjson.dumps(records)
    code, out, err = predict(tmp_path, data, f"in.{fmt}", "--keep", "id,RowNumber", "--on-error", on_error,
                             "--batch-size", "4")
    assert code == 0, err
    written = orjson.loads(out) if fmt == "json" else [orjson.loads(line) for line in out.splitlines()]
    assert [row["id"] for row in written] == ["r0", "r1", None, "r3", "r4", "r5"]
    assert [row["RowNumber"] for row in written] == [row["RowNumber"] for row in records]
    assert all("prediction" in row and "error" not in row for row in written)


@pytest.mark.parametrize("to", ["csv", "tsv", "parquet", "arrow", "json", "ndjson"])
def test_every_output_format_writes_the_row(tmp_path: Path, to: str) -> None:
    # the first batch lacks the field on every row: its column is all null, the next batch's holds strings
    target = tmp_path / f"out.{to}"
    code, _, err = predict(tmp_path, ndjson(lacking(0, 1, 4)), "in.ndjson", "--keep", "id", "--batch-size", "2",
                           "-o", str(target))
    assert code == 0, err
    written = read(target, to)
    assert [row["id"] for row in written] == [None, None, "r2", "r3", None, "r5"]
    assert len([row for row in written if row["prediction"] is not None]) == 6


def test_a_kept_field_lacking_beside_a_bad_row_under_null(tmp_path: Path) -> None:
    records = lacking(1)
    records[3]["Age"] = "old"
    code, out, err = predict(tmp_path, ndjson(records), "in.ndjson", "--keep", "id", "--on-error", "null")
    assert code == 0, err
    written = [orjson.loads(line) for line in out.splitlines()]
    assert [row["id"] for row in written] == ["r0", None, "r2", "r3", "r4", "r5"]
    assert [row.get("error") is not None for row in written] == [False, False, False, True, False, False]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_null_kept_value_in_a_column_is_a_value(tmp_path: Path, fmt: str) -> None:
    frame = pd.DataFrame(rows())
    frame.loc[2, "id"] = None
    source = tmp_path / f"in.{fmt}"
    frame.to_csv(source, index=False) if fmt == "csv" else frame.to_parquet(source)
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(source), "--keep", "id", "--to", "ndjson"])
    assert result.exit_code == 0, result.stderr
    kept = [orjson.loads(line)["id"] for line in result.stdout.splitlines()]
    assert len(kept) == 6 and kept[2] in (None, "") and kept[3] == "r3"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_column_no_row_can_hold_is_still_refused(tmp_path: Path, fmt: str) -> None:
    frame = pd.DataFrame(rows())
    source = tmp_path / f"in.{fmt}"
    frame.to_csv(source, index=False) if fmt == "csv" else frame.to_parquet(source)
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(source), "--keep", "idd"])
    assert result.exit_code == 1
    assert f"in.{fmt}: field 'idd': no such input field to keep" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_keep_answers_as_the_command(tmp_path: Path) -> None:
    from tests.serve.test_app import app_client

    body = ndjson(lacking(2))
    with app_client({"churn": CHURN}) as client:
        answer = client.post("/predict/?keep=id", content=body, headers={"content-type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text
    _, out, _ = predict(tmp_path, body, "in.ndjson", "--keep", "id")
    assert answer.content.decode() == out
    assert [orjson.loads(line)["id"] for line in out.splitlines()] == ["r0", "r1", None, "r3", "r4", "r5"]


