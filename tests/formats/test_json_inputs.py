"""JSON and NDJSON inputs that are hostile or not rows: bounded, refused clearly, never losing the rows before."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from flmcli.cli import cli
from flmcli.errors import InputError
from flmcli.formats import detect, reader
from flmcli.formats.nesting import NESTING_LIMIT, DepthGuard, check
from tests.helpers import invoke_through_a_pipe
from tests.plain_model import TRUST, process_env

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "samples" / "churn.flm"
ROW = [10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]
LINE = orjson.dumps(ROW)


def read_all(data: bytes, fmt: str = "json", batch_size: int = 4) -> list[object]:
    rows: list[object] = []
    for batch in reader(fmt)(io.BytesIO(data), source="in", batch_size=batch_size, max_delay=None):
        assert batch.records is not None
        rows.extend(batch.records)
    return rows


def predict(tmp_path: Path, data: bytes, name: str, *args: str) -> tuple[int, str, str]:
    path = tmp_path / name
    path.write_bytes(data)
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(path), *args])
    return result.exit_code, result.stdout, result.stderr


# -- the row nesting limit ------------------------------------------------------------------------------------


DEEP = [
    pytest.param(b"[" * 100_000, id="array"),
    pytest.param(b'{"input": ' + b"[" * 100_000, id="envelope"),
    pytest.param(b'{"method": "x", "input": ' + b"[" * 100_000, id="envelope-not-first"),
    pytest.param(b"[" + LINE + b", " + b'{"a": ' * 100_000, id="after-a-row"),
    pytest.param(b"[" + b"[" * 2000 + b"]" * 2000 + b"]", id="closed-but-too-deep"),
]


@pytest.mark.parametrize("data", DEEP)
def test_deep_json_is_refused_naming_the_limit(data: bytes) -> None:
    with pytest.raises(InputError, match=f"nested deeper than {NESTING_LIMIT} levels \\(the row nesting limit\\)"):
        read_all(data)


@pytest.mark.parametrize("data", DEEP)
def test_deep_json_through_the_cli_exits_1(tmp_path: Path, data: bytes) -> None:
    code, _, err = predict(tmp_path, data, "deep.json")
    assert code == 1
    assert "row nesting limit" in err and "unexpected" not in err


def test_deep_ndjson_line_is_a_bad_row_naming_the_limit(tmp_path: Path) -> None:
    data = LINE + b"\n" + b"[" * 100_000 + b"\n" + LINE + b"\n"
    code, out, _ = predict(tmp_path, data, "rows.ndjson", "--on-error", "null")
    assert code == 0
    rows = [orjson.loads(line) for line in out.splitlines()]
    assert [row["prediction"] for row in rows] == [0, None, 0]
    assert "2: JSON nested deeper than 1024 levels" in rows[1]["error"]


def test_nesting_at_the_limit_is_still_parsed() -> None:
    # Within the limit the document is read (the row is then refused by the model for its values, not here).
    rows = read_all(b"[" + b"[" * (NESTING_LIMIT - 1) + b"]" * (NESTING_LIMIT - 1) + b"]")
    assert len(rows) == 1


def test_depth_guard_ignores_brackets_in_strings_whatever_the_pieces() -> None:
    deep = b'["\\\\\\"[[[", {"a": [[[[[1]]]]]}]'  # 7 levels; the brackets inside the string do not count
    shallow = b'["\\\\\\"[[[", {"a": [[[[1]]]]}]'  # 6 levels
    for size in range(1, len(deep) + 1):
        guard = DepthGuard("x", limit=6)
        with pytest.raises(InputError):
            for start in range(0, len(deep), size):
                guard.feed(deep[start : start + size])
        guard = DepthGuard("x", limit=6)
        for start in range(0, len(shallow), size):
            guard.feed(shallow[start : start + size])
        assert guard.depth == 0


def test_check_is_linear_on_escaped_quotes() -> None:
    # An unterminated string full of escaped quotes: a regex that retried from each quote would be quadratic.
    check(b'["' + b'\\"' * 2_000_000)
    with pytest.raises(InputError, match="row nesting limit"):
        check(b"[" * (NESTING_LIMIT + 1), source="body")


# -- JSON that is not rows ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, message",
    [
        (b'{"rows": [[1, 2]]}', "field 'rows': not a field of the body; send {\"input\": [[...], ...]}"),
        (b'{"input": 5}', "field 'input': expected an array of rows, got a number"),
        (b'{"input": {"a": 1}}', "field 'input': expected an array of rows, got an object"),
        (b"42", "got a number"),
        (b'"rows"', "got a string"),
        (b"{}", "the object is empty"),
    ],
)
def test_json_that_is_not_rows_is_refused_with_exit_1(tmp_path: Path, data: bytes, message: str) -> None:
    code, _, err = predict(tmp_path, data, "body.json")
    assert code == 1, err
    assert message in err


@pytest.mark.parametrize("data", [b'{"rows": [[1, 2]]}\n', b"42\n", b'{"input": [[1, 2]]}\n'])
def test_json_documents_on_stdin_are_detected_as_json(data: bytes) -> None:
    assert detect(None, data, None) == "json"




# -- a syntax error after good rows ---------------------------------------------------------------------------


@pytest.mark.parametrize("good", [2, 5, 40])
def test_json_array_with_a_syntax_error_writes_the_rows_before_it(tmp_path: Path, good: int) -> None:
    data = b"[" + b", ".join([LINE] * good) + b", [1, 2,"
    code, out, err = predict(tmp_path, data, "broken.json", "--batch-size", "16")
    assert code == 1
    assert orjson.loads(out) == [0] * good
    assert f"row {good + 1}: invalid JSON" in err


def test_envelope_with_a_syntax_error_writes_the_rows_before_it(tmp_path: Path) -> None:
    data = b'{"\\u0069nput": [' + b", ".join([LINE] * 3) + b", [1, }"  # not the opening the chunks take
    code, out, err = predict(tmp_path, data, "broken.json")
    assert code == 1
    assert orjson.loads(out) == [0, 0, 0]
    assert "row 4: invalid JSON" in err


# -- NDJSON whose rows are arrays ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head, fmt",
    [
        (LINE + b"\n", "ndjson"),
        (LINE + b"\n" + LINE + b"\n", "ndjson"),
        (LINE[:20], "ndjson"),  # the first row still arriving
        (b"[" + LINE + b"]\n", "json"),
        (b"[\n  " + LINE + b"\n]\n", "json"),
        (b"[" + LINE[:20], "json"),
        (b"[]\n", "json"),
        (b'{"input": [1, 2], "prediction": 0}\n', "ndjson"),  # one chained row, as --keep-input writes it
    ],
)
def test_array_rows_one_per_line_are_ndjson(head: bytes, fmt: str) -> None:
    assert detect(None, head, None) == fmt


@pytest.mark.parametrize("lines", [1, 3])
def test_array_rows_on_stdin_through_a_real_pipe(lines: int) -> None:
    result = invoke_through_a_pipe("predict", CHURN, input=(LINE + b"\n") * lines)
    assert result.returncode == 0, result.stderr
    assert [orjson.loads(line) for line in result.stdout.splitlines()] == [{"prediction": 0}] * lines


def test_array_rows_from_a_live_pipe_are_answered_as_they_arrive(plain_flm: Path) -> None:
    # `tail -f rows.ndjson | flm predict`: the first row is answered while the pipe is still open. A real process
    # (its stdout is a real pipe too); the model is not the point: tests/plain_model.py's predicts 2 x ROW[0].
    # `with` closes the pipes too: an unclosed one is a ResourceWarning, an error under our pytest settings
    with subprocess.Popen([sys.executable, "-m", "flmcli", "predict", str(plain_flm), "--trust", TRUST],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=process_env()) as process:
        assert process.stdin is not None and process.stdout is not None
        try:
            for _ in range(2):
                process.stdin.write(LINE + b"\n")
                process.stdin.flush()
                deadline = time.monotonic() + 60
                line = b""
                while not line.endswith(b"\n") and time.monotonic() < deadline:
                    ready, _, _ = select.select([process.stdout], [], [], 1)
                    if ready:
                        line += os.read(process.stdout.fileno(), 1 << 16)
                assert orjson.loads(line) == {"prediction": 2.0 * ROW[0]}
            process.stdin.close()
            assert process.wait(timeout=60) == 0
        finally:
            process.kill()
            process.wait()
