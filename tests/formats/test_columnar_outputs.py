"""Rows and fields never dropped on the way into CSV, TSV, Parquet and Arrow: --on-error and --keep-input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from flmcli.cli import cli
from tests.helpers import CHURN, ROOT

FORMATS = ["csv", "tsv", "parquet", "arrow", "json", "ndjson"]


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    frame = pd.read_parquet(ROOT / "data" / "data.parquet").drop(columns=["Exited"]).head(40)
    return [{key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()}
            for row in frame.to_dict("records")]


def ndjson(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def run(tmp_path: Path, data: bytes, to: str, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    source = tmp_path / "in.ndjson"
    source.write_bytes(data)
    target = tmp_path / f"out.{to}"
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(source), "-o", str(target), *args])
    if not target.exists():
        return result.exit_code, [], result.stderr
    return result.exit_code, read(target, to), result.stderr


def read(path: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt == "json":
        return [value if isinstance(value, dict) else {"prediction": value} for value in orjson.loads(path.read_bytes())]
    if fmt == "ndjson":
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]
    if fmt in ("csv", "tsv"):
        frame = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", dtype=object, keep_default_na=False)
        return [{k: (None if v == "" else v) for k, v in row.items()} for row in frame.to_dict("records")]
    if fmt == "parquet":
        return pq.read_table(path).to_pylist()  # type: ignore[no-any-return]
    with pa.ipc.open_stream(path) as stream:
        return stream.read_all().to_pylist()  # type: ignore[no-any-return]


def as_int(value: Any) -> int | None:
    return None if value is None else int(value)


# -- --on-error skip|null when the first bad row comes after the first batch -----------------------------------------


@pytest.mark.parametrize("to", FORMATS)
def test_on_error_null_after_the_first_batch_keeps_every_row(tmp_path: Path, records: list[dict[str, Any]],
                                                            to: str) -> None:
    rows = [dict(row) for row in records]
    rows[25]["Age"] = "old"
    code, out, err = run(tmp_path, ndjson(rows), to, "--batch-size", "10", "--on-error", "null")
    assert code == 0, err
    assert len(out) == 40
    assert [as_int(row["prediction"]) is None for row in out] == [i == 25 for i in range(40)]
    if to != "json":  # Flama's bare array has no room for the message
        assert "field 'Age'" in out[25]["error"]
        assert all(not row.get("error") for i, row in enumerate(out) if i != 25)


@pytest.mark.parametrize("to", FORMATS)
def test_on_error_skip_after_the_first_batch_keeps_every_good_row(tmp_path: Path, records: list[dict[str, Any]],
                                                                 to: str) -> None:
    rows = [dict(row) for row in records]
    rows[25]["Age"] = "old"
    rows[33] = {"nothing": 1}
    code, out, err = run(tmp_path, ndjson(rows), to, "--batch-size", "10", "--on-error", "skip")
    assert code == 5, err
    assert len(out) == 38
    assert all("error" not in row or row["error"] is None for row in out)
    assert err.count('"line":') == 2


# -- --keep-input / --keep: the schema of every record, not the first one's ---------------------------------------


@pytest.mark.parametrize("to", ["csv", "tsv", "parquet", "arrow"])
def test_a_field_the_first_record_lacks_is_kept(tmp_path: Path, records: list[dict[str, Any]], to: str) -> None:
    rows = [dict(row) for row in records[:5]]
    rows[2]["note"] = "vip"
    code, out, err = run(tmp_path, ndjson(rows), to, "--keep-input")
    assert code == 0, err
    assert [row.get("note") for row in out] == [None, None, "vip", None, None]
    assert [as_int(row["RowNumber"]) for row in out] == [row["RowNumber"] for row in rows]


@pytest.mark.parametrize("to", ["csv", "tsv", "parquet", "arrow"])
def test_keep_names_a_field_the_first_record_lacks(tmp_path: Path, records: list[dict[str, Any]], to: str) -> None:
    rows = [dict(row) for row in records[:3]]
    rows[1]["id"] = "b"
    code, out, err = run(tmp_path, ndjson(rows), to, "--keep", "id")
    assert code == 0, err  # a row lacking a kept field keeps it as null (tests/cli/test_keep_field_a_row_lacks.py)
    assert [row["id"] for row in out] == [None, "b", None]


@pytest.mark.parametrize("to", ["csv", "tsv", "parquet", "arrow"])
def test_a_field_appearing_only_in_a_later_batch_fails_naming_it(tmp_path: Path, records: list[dict[str, Any]],
                                                                to: str) -> None:
    rows = [dict(row) for row in records[:20]]
    rows[15]["note"] = "vip"
    code, _, err = run(tmp_path, ndjson(rows), to, "--keep-input", "--batch-size", "10")
    assert code == 1
    assert "'note'" in err and "unexpected" not in err


@pytest.mark.parametrize("to", ["csv", "tsv", "parquet", "arrow"])
def test_a_field_changing_type_within_a_batch(tmp_path: Path, records: list[dict[str, Any]], to: str) -> None:
    rows = [dict(row) for row in records[:4]]
    rows[0]["tag"] = 7
    rows[2]["tag"] = "seven"
    code, out, err = run(tmp_path, ndjson(rows), to, "--keep-input")
    if to in ("csv", "tsv"):  # text has no types: both are written as they came
        assert code == 0, err
        assert [row["tag"] for row in out] == ["7", None, "seven", None]
    else:
        assert code == 1
        assert "field 'tag'" in err and "unexpected" not in err


@pytest.mark.parametrize("to", ["csv", "tsv", "parquet", "arrow"])
def test_a_field_changing_type_after_the_first_batch(tmp_path: Path, records: list[dict[str, Any]], to: str) -> None:
    rows = [dict(row) for row in records[:20]]
    for i, row in enumerate(rows):
        row["tag"] = i if i < 10 else f"t{i}"
    code, out, err = run(tmp_path, ndjson(rows), to, "--keep-input", "--batch-size", "10")
    if to in ("csv", "tsv"):
        assert code == 0, err
        assert [row["tag"] for row in out] == [str(i) for i in range(10)] + [f"t{i}" for i in range(10, 20)]
    else:
        assert code == 1
        assert "field 'tag'" in err and "int64" in err and "unexpected" not in err


def test_ints_then_floats_after_the_first_batch_are_promoted_or_refused(tmp_path: Path,
                                                                       records: list[dict[str, Any]]) -> None:
    rows = [dict(row) for row in records[:20]]
    for i, row in enumerate(rows):
        row["score"] = i if i < 10 else i + 0.5
    code, _out, err = run(tmp_path, ndjson(rows), "parquet", "--keep-input", "--batch-size", "10")
    assert code == 1
    assert "field 'score'" in err and "unexpected" not in err
