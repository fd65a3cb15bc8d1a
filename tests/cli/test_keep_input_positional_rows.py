"""`--keep-input` keeps a positional (array) row under "input" ({"input": [...], "prediction": 0}): an output named
"input" (--output-name input) replaces it, and says so as for any other kept field; it was dropped silently. The
warning for an input field "error", which flm's own error field replaces, does not point to --output-name, which
names the outputs only."""

from __future__ import annotations

import orjson
import pyarrow.parquet as pq

from tests.helpers import CHURN, CORPUS, DATA, invoke

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
ROWS = b"[5.1,3.5,1.4,0.2]\n[6.2,2.9,4.3,1.3]\n"


def test_an_output_named_input_replacing_kept_array_rows_is_said() -> None:
    ran = invoke("predict", IRIS, "--keep-input", "--output-name", "input", "--from", "ndjson", input=ROWS)
    assert ran.returncode == 0, ran.stderr
    assert [orjson.loads(line) for line in ran.stdout.splitlines()] == [{"input": 0}, {"input": 1}]
    lines = ran.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Warning: the input field 'input' is replaced by the output of that name")
    assert "--output-name" in lines[0]


def test_kept_array_rows_under_another_output_name_say_nothing() -> None:
    ran = invoke("predict", IRIS, "--keep-input", "--from", "ndjson", input=ROWS)
    assert ran.returncode == 0, ran.stderr
    assert orjson.loads(ran.stdout.splitlines()[0]) == {"input": [5.1, 3.5, 1.4, 0.2], "prediction": 0}
    assert ran.stderr == b""


def test_an_input_error_field_replaced_under_null_points_to_renaming_it() -> None:
    # (under skip flm writes no error field: tests/formats/test_skip_writes_no_error_field.py)
    rows = pq.read_table(DATA).drop_columns(["Exited"]).slice(0, 3).to_pylist()
    rows[0]["error"] = "mine"
    rows[1]["Age"] = "old"
    body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    ran = invoke("predict", CHURN, "--keep-input", "--on-error", "null", input=body)
    assert ran.returncode == 0
    warning = [line for line in ran.stderr.decode().splitlines() if line.startswith("Warning:")]
    assert len(warning) == 1 and "'error'" in warning[0]
    assert "--output-name" not in warning[0] and "rename" in warning[0]
