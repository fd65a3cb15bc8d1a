"""Once the model is loaded, a columnar batch's model input is made on the reader thread while the model scores the
batch before; what the model is given, what is written and every error stay the ones made on the main thread."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import flmcli
import flmcli.features
from flmcli import formats
from flmcli.batch import Batch
from flmcli.features import FeatureSpec, from_table, prepare
from flmcli.job import Job
from flmcli.options import PredictOptions
from flmcli.predictor import Predictor
from tests.helpers import CHURN, DATA, invoke

ROWS = 2000


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("prepared")
    table = pq.read_table(DATA).slice(0, ROWS)
    made = {"csv": folder / "rows.csv", "parquet": folder / "rows.parquet", "tsv": folder / "rows.tsv"}
    pacsv.write_csv(table, made["csv"])
    pacsv.write_csv(table, made["tsv"], pacsv.WriteOptions(delimiter="\t"))
    pq.write_table(table, made["parquet"])
    lines = made["csv"].read_text().splitlines()
    lines[700] = ",".join(lines[700].split(",")[:5])  # a short row
    made["short.csv"] = folder / "short.csv"
    made["short.csv"].write_text("\n".join(lines) + "\n")
    cells = lines[1500].split(",")
    cells[3] = "seven hundred"  # CreditScore: the column then reads as text, which the model refuses
    lines[1500] = ",".join(cells)
    made["refused.csv"] = folder / "refused.csv"
    made["refused.csv"].write_text("\n".join(lines) + "\n")
    made["missing.parquet"] = folder / "missing.parquet"
    pq.write_table(table.drop_columns(["Age"]), made["missing.parquet"])
    return made


def _write(path: Path, predictor: Predictor, options: PredictOptions) -> bytes:
    out = io.BytesIO()
    with formats.open_input(str(path)) as opened:
        Job(predictor, options).write([opened], out, "ndjson")
    return out.getvalue()


def test_each_batch_is_made_once_on_the_reader_thread(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = Predictor(flmcli.load(CHURN))
    made: list[str] = []
    original = flmcli.features._from_table

    def recorded(batch: Batch, spec: FeatureSpec) -> Any:
        made.append(threading.current_thread().name)
        return original(batch, spec)

    monkeypatch.setattr(flmcli.features, "_from_table", recorded)
    for name in ("csv", "parquet"):
        made.clear()
        out = _write(files[name], predictor, PredictOptions(batch_size=300))
        assert out.count(b"\n") == ROWS
        assert made == ["flm-prefetch"] * -(-ROWS // 300), made


@pytest.mark.parametrize("name", ["csv", "tsv", "parquet", "short.csv", "refused.csv", "missing.parquet"])
@pytest.mark.parametrize("on_error", ["fail", "null", "skip"])
def test_same_bytes_messages_and_exit_codes_as_made_on_the_main_thread(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, name: str, on_error: str
) -> None:
    args = ("predict", CHURN, files[name], "--on-error", on_error, "--batch-size", "256", "--to", "csv")
    now = invoke(*args)
    monkeypatch.setattr(flmcli.features, "prepare", lambda batch, spec: None)
    before = invoke(*args)
    assert (now.returncode, now.stdout, now.stderr) == (before.returncode, before.stdout, before.stderr)
    if name == "missing.parquet":
        assert now.returncode == 1 and b"field 'Age': missing column" in now.stderr
    elif name in ("short.csv", "refused.csv"):
        assert now.returncode == {"fail": 1, "null": 0, "skip": 5}[on_error] and now.stdout
        told = now.stderr + now.stdout
        assert b":701: expected 14 fields, got 5" in told  # lines[700]: the header is line 1
        assert name == "short.csv" or on_error == "fail" or b":1501:" in told
    else:
        assert now.returncode == 0 and now.stdout.count(b"\n") == ROWS + 1


def test_an_input_made_for_another_spec_is_not_used() -> None:
    table = pa.table({"a": [1, 2], "b": ["x", "y"]})
    batch = Batch(source="t", table=table)
    ab = FeatureSpec(names=("a", "b"), width=2, by_name=True)
    prepare(batch, ab)
    assert batch.prepared is not None
    ba = FeatureSpec(names=("b", "a"), width=2, by_name=True)
    frame = from_table(batch, ba)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["b", "a"]
    made = batch.prepared[1]
    assert from_table(batch, ab) is made
    assert batch.prepared is None  # handed over once: not held by the batch while the model runs
    assert from_table(batch, ab) is not made


def test_an_input_that_cannot_be_made_is_left_for_the_main_thread() -> None:
    batch = Batch(source="t.csv", table=pa.table({"a": [1]}))
    spec = FeatureSpec(names=("a", "b"), width=2, by_name=True)
    prepare(batch, spec)
    assert batch.prepared is None
    with pytest.raises(flmcli.errors.InputError, match="missing column"):
        from_table(batch, spec)


def test_rows_decoded_from_text_are_made_ahead_only_when_they_fit() -> None:
    """Batches with a row-by-row fallback (NDJSON through Arrow) take the typed-columns path, not from_table: made
    ahead only when the table holds the features plainly (tests/job/test_typed_prepared.py has the rest)."""
    spec = FeatureSpec(names=("a",), width=1, by_name=True)
    batch = Batch(source="t", table=pa.table({"a": [1]}), fallback=lambda: Batch(source="t", records=[{"a": 1}]))
    prepare(batch, spec)
    assert batch.prepared is not None and batch.prepared[0] == spec
    nulls = Batch(source="t", table=pa.table({"a": [1, None]}),
                  fallback=lambda: Batch(source="t", records=[{"a": 1}, {"a": None}]))
    prepare(nulls, spec)
    assert nulls.prepared is None
