"""`flm predict` end to end, as a user runs it: every format in and out, against the estimator's own answers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest

import flmcli
from tests.helpers import CHURN, CORPUS, DATA, invoke, manifest

N = 300


@pytest.fixture(scope="module")
def churn() -> tuple[object, pd.DataFrame]:
    frame = pd.read_parquet(DATA).iloc[:N]
    return flmcli.load(CHURN).estimator, frame


@pytest.fixture(scope="module")
def expected(churn) -> list[int]:
    model, frame = churn
    return model.predict(frame.drop(columns=["Exited"])).tolist()


def write_input(frame: pd.DataFrame, fmt: str, path: Path) -> Path:
    if fmt == "json":
        path.write_bytes(orjson.dumps(frame.drop(columns=["Exited"]).values.tolist()))
    elif fmt == "ndjson":
        frame.to_json(path, orient="records", lines=True)
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif fmt == "parquet":
        frame.to_parquet(path, row_group_size=64)
    elif fmt == "arrow":
        table = pa.Table.from_pandas(frame, preserve_index=False)
        with pa.ipc.new_stream(str(path), table.schema) as out:
            out.write_table(table, max_chunksize=50)
    return path


def read_output(data: bytes, fmt: str) -> list[object]:
    if fmt == "json":
        return orjson.loads(data)
    if fmt == "ndjson":
        return [orjson.loads(line)["prediction"] for line in data.splitlines()]
    if fmt in ("csv", "tsv"):
        return pd.read_csv(io.BytesIO(data), sep="\t" if fmt == "tsv" else ",")["prediction"].tolist()
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(data)).column("prediction").to_pylist()
    return pa.ipc.open_stream(data).read_all().column("prediction").to_pylist()


EXT = {"json": "json", "ndjson": "ndjson", "csv": "csv", "tsv": "tsv", "parquet": "parquet", "arrow": "arrows"}


@pytest.mark.parametrize("fmt", list(EXT))
def test_each_format_in_gives_the_estimators_predictions(tmp_path: Path, churn, expected, fmt: str) -> None:
    _, frame = churn
    source = write_input(frame, fmt, tmp_path / f"rows.{EXT[fmt]}")
    result = invoke("predict", CHURN, source, "--batch-size", "128")
    assert result.returncode == 0, result.stderr
    # Parquet and Arrow become NDJSON on a pipe; text formats answer in kind.
    out_fmt = "ndjson" if fmt in ("parquet", "arrow") else fmt
    assert read_output(result.stdout, out_fmt) == expected
    assert result.stderr == b""


@pytest.mark.parametrize("fmt", list(EXT))
def test_each_format_out(tmp_path: Path, churn, expected, fmt: str) -> None:
    _, frame = churn
    source = write_input(frame, "parquet", tmp_path / "rows.parquet")
    target = tmp_path / f"scored.{EXT[fmt]}"
    result = invoke("predict", CHURN, source, "-o", target)
    assert result.returncode == 0, result.stderr
    assert read_output(target.read_bytes(), fmt) == expected
    assert list(tmp_path.glob("*.part")) == []


def test_stdin_is_detected_by_its_first_bytes(churn, expected) -> None:
    _, frame = churn
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    result = invoke("predict", CHURN, input=buffer.getvalue())
    assert result.returncode == 0, result.stderr
    assert read_output(result.stdout, "ndjson") == expected
    csv = invoke("predict", CHURN, input=frame.to_csv(index=False).encode())
    assert read_output(csv.stdout, "csv") == expected


def test_flama_body_and_spellings(tmp_path: Path, churn, expected) -> None:
    _, frame = churn
    body = tmp_path / "body.json"
    body.write_bytes(orjson.dumps({"input": frame.drop(columns=["Exited"]).values.tolist()}))
    for option in ("--file", "-i", "--input"):
        result = invoke("predict", CHURN, option, body)
        assert result.returncode == 0, result.stderr
        assert orjson.loads(result.stdout) == expected


def test_several_inputs_to_a_directory(tmp_path: Path, churn, expected) -> None:
    _, frame = churn
    a = write_input(frame.iloc[:100], "parquet", tmp_path / "a.parquet")
    b = write_input(frame.iloc[100:], "parquet", tmp_path / "b.parquet")
    result = invoke("predict", CHURN, a, b, "-o", tmp_path / "scored")
    assert result.returncode == 0, result.stderr
    assert read_output((tmp_path / "scored" / "a.parquet").read_bytes(), "parquet") == expected[:100]
    assert read_output((tmp_path / "scored" / "b.parquet").read_bytes(), "parquet") == expected[100:]


def test_predict_proba_and_keep(tmp_path: Path, churn) -> None:
    model, frame = churn
    source = write_input(frame, "ndjson", tmp_path / "rows.ndjson")
    result = invoke("predict", CHURN, source, "--method", "predict_proba", "--keep", "CustomerId")
    assert result.returncode == 0, result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    proba = model.predict_proba(frame.drop(columns=["Exited"]))
    assert [r["CustomerId"] for r in rows] == frame["CustomerId"].tolist()
    np.testing.assert_array_equal([[r["0"], r["1"]] for r in rows], proba)


@pytest.mark.parametrize("name", [n for n, e in manifest().items() if "iris" in n and e["expected_outcome"].startswith("loads")])
def test_corpus_models_through_the_cli(name: str) -> None:
    entry = manifest()[name]
    result = invoke("predict", CORPUS / name, "--method", "predict_proba", input=json.dumps(entry["input"]["rows"]).encode())
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout) == entry["expected_outputs"]["predict_proba"]


# --- bad input: one line on stderr naming the place, the documented exit code, nothing for unscored rows ---


def rows_text(frame: pd.DataFrame, n: int) -> list[str]:
    return [orjson.dumps(r).decode() for r in frame.drop(columns=["Exited"]).iloc[:n].to_dict("records")]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("malformed", "Error: <stdin>:3: invalid JSON"),
        ("short_row", "Error: <stdin>:3: expected 13 values, got 2"),
        ("missing_field", "Error: <stdin>:3: field 'Age': missing field"),
        ("bad_value", "Error: <stdin>:3: field 'Age': the model cannot use the value 'old'"),
    ],
)
def test_bad_rows_stop_with_a_message_naming_line_and_field(churn, expected, case: str, message: str) -> None:
    _, frame = churn
    lines = rows_text(frame, 4)
    third = orjson.loads(lines[2])
    lines[2] = {
        "malformed": lines[2][:-3],
        "short_row": "[1, 2]",
        "missing_field": orjson.dumps({k: v for k, v in third.items() if k != "Age"}).decode(),
        "bad_value": orjson.dumps({**third, "Age": "old"}).decode(),
    }[case]
    result = invoke("predict", CHURN, "--batch-size", "2", input="\n".join(lines).encode() + b"\n")
    assert result.returncode == 1
    assert result.stderr.decode().startswith(message), result.stderr
    assert len(result.stderr.decode().strip().splitlines()) <= 2  # the error, and at most a hint
    assert b"Traceback" not in result.stderr
    # rows 1-2 were scored and written; nothing for the bad row or after it
    assert read_output(result.stdout, "ndjson") == expected[:2]


def test_on_error_skip_reports_each_row_and_exits_5(churn, expected) -> None:
    _, frame = churn
    lines = rows_text(frame, 5)
    lines[1] = "[1]"
    lines[3] = "{oops"
    result = invoke("predict", CHURN, "--on-error", "skip", input="\n".join(lines).encode())
    assert result.returncode == 5
    assert read_output(result.stdout, "ndjson") == [expected[0], expected[2], expected[4]]
    reports = [orjson.loads(line) for line in result.stderr.splitlines() if line.startswith(b"{")]
    assert [r["line"] for r in reports] == [2, 4]


def test_on_error_null_keeps_alignment(churn, expected) -> None:
    _, frame = churn
    lines = rows_text(frame, 3)
    lines[1] = "[1]"
    result = invoke("predict", CHURN, "--on-error", "null", input="\n".join(lines).encode())
    assert result.returncode == 0, result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [r["prediction"] for r in rows] == [expected[0], None, expected[2]]
    assert rows[1]["error"].endswith("expected 13 values, got 1")


@pytest.mark.parametrize(
    ("data", "message", "code"),
    [
        (b'{"a": 1,\n "b": 2}\n', "pretty-printed JSON", 1),
        (bytes(range(256)) * 4, "cannot detect the input format", 1),
        (b"[[1, 2", "invalid JSON", 1),
    ],
    ids=["pretty", "garbage", "truncated-array"],
)
def test_bad_streams(data: bytes, message: str, code: int) -> None:
    result = invoke("predict", CHURN, input=data)
    assert result.returncode == code
    assert message in result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_empty_input_scores_nothing_and_says_so() -> None:
    result = invoke("predict", CHURN, input=b"")
    assert result.returncode == 0
    assert result.stdout == b""
    assert result.stderr.decode() == "Warning: no rows in <stdin>: nothing scored\n"


def test_unknown_method_for_the_model() -> None:
    result = invoke("predict", CHURN, "--method", "transform", input=b"[]")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("Error: Pipeline has no transform")
