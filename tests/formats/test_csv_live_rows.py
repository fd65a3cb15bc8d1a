"""CSV from a live pipe (csv_live): short and long rows follow --on-error exactly as on the bulk CSV path, with the
same messages naming the line. In-process over a real OS pipe (so the live reader is the one that runs), and
through a real process where liveness is the point."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from click.testing import CliRunner

from flmcli import formats
from flmcli.cli import cli
from flmcli.formats import csv_live
from tests.formats.test_csv_rows import broken
from tests.helpers import CHURN, DATA
from tests.plain_model import TRUST, process_env


@pytest.fixture(scope="module")
def lines() -> list[str]:
    frame = pd.read_parquet(DATA).drop(columns=["Exited"]).head(20)
    return frame.to_csv(index=False).splitlines()  # the header, then data rows on lines 2..21


@pytest.fixture
def live_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the live reader's runs: a test of the live path must see it run."""
    calls: list[int] = []
    original = csv_live.read

    def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(csv_live, "read", counted)
    return calls


def feed(data: bytes) -> Any:
    """The read end of a real pipe that `data` is written into (by a thread: it may exceed the pipe's buffer)."""
    read_fd, write_fd = os.pipe()

    def write() -> None:
        with os.fdopen(write_fd, "wb") as out, contextlib.suppress(BrokenPipeError):  # a run that stopped early
            out.write(data)

    threading.Thread(target=write, daemon=True).start()
    return os.fdopen(read_fd, "rb")


def run(args: list[str], *, stdin: Any = None) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["predict", str(CHURN), *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout_bytes, result.stderr


def live(text: str, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    with feed(text.encode()) as stdin:
        code, out, err = run(["--from", "csv", "--to", "ndjson", *args], stdin=stdin)
    return code, [orjson.loads(line) for line in out.splitlines()], err


@pytest.mark.parametrize("how, got", [("short", 12), ("long", 14)])
def test_a_row_of_the_wrong_width_stops_the_run_naming_its_line(lines: list[str], live_calls: list[int], how: str,
                                                               got: int) -> None:
    code, out, err = live(broken(lines, [5], how))
    assert live_calls
    assert code == 1
    assert len(out) == 3  # the rows before it are written
    assert f"<stdin>:5: expected 13 fields, got {got}" in err


@pytest.mark.parametrize("how", ["short", "long"])
@pytest.mark.parametrize("batch_size", ["1", "4", "65536"])
def test_on_error_null_keeps_the_bad_rows_in_place(lines: list[str], live_calls: list[int], how: str,
                                                   batch_size: str) -> None:
    code, out, err = live(broken(lines, [2, 9, 21], how), "--on-error", "null", "--batch-size", batch_size)
    assert live_calls
    assert code == 0, err
    assert len(out) == 20
    assert [i for i, row in enumerate(out) if row["prediction"] is None] == [0, 7, 19]
    assert "<stdin>:9: expected 13 fields, got" in str(out[7]["error"])


def test_on_error_skip_reports_each_bad_row(lines: list[str], live_calls: list[int]) -> None:
    code, out, err = live(broken(lines, [3, 10]), "--on-error", "skip", "--batch-size", "4")
    assert live_calls
    assert code == 5
    assert len(out) == 18
    reports = [orjson.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [report["line"] for report in reports] == [3, 10]


@pytest.mark.parametrize("on_error", ["fail", "skip", "null"])
@pytest.mark.parametrize("at", [[2], [7, 8], [2, 21], [12]])
@pytest.mark.parametrize("how", ["short", "long"])
@pytest.mark.parametrize("to", ["ndjson", "csv"])
def test_live_and_bulk_give_the_same_bytes_and_status(tmp_path: Path, lines: list[str], live_calls: list[int],
                                                       on_error: str, at: list[int], how: str, to: str) -> None:
    text = broken(lines, at, how)
    source = tmp_path / "rows.csv"
    source.write_text(text)
    args = ["--on-error", on_error, "--to", to, "--batch-size", "3"]
    bulk = run([str(source), *args])
    assert not live_calls
    with feed(text.encode()) as stdin:
        piped = run(["--from", "csv", *args], stdin=stdin)
    assert live_calls
    # the same bytes but for the source's name in messages
    assert piped[0] == bulk[0]
    assert piped[1].replace(b"<stdin>", str(source).encode()) == bulk[1]
    assert piped[2].replace("<stdin>", str(source)) == bulk[2]


def test_a_first_chunk_of_only_bad_rows_does_not_type_the_columns() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"id,x\n1\n")  # a short row alone: pyarrow would type both columns null
    with os.fdopen(read_fd, "rb") as fp:
        batches = formats.reader("csv")(fp, source="<pipe>", batch_size=1, max_delay=10.0)
        first = next(batches)
        assert first.bad == {0: "expected 2 fields, got 1"} and list(first.lines or ()) == [2]
        os.write(write_fd, b"2,3\n4,5.5\n")
        os.close(write_fd)
        rest = list(batches)
    assert [batch.table.to_pylist() for batch in rest] == [[{"id": 2, "x": 3.0}], [{"id": 4, "x": 5.5}]]
    assert [list(batch.lines or ()) for batch in rest] == [[3], [4]]
    assert all(batch.bad is None for batch in rest)


def test_a_type_clash_on_the_live_path_reads_the_value_as_text(tmp_path: Path) -> None:
    text = b"id,x\n1,2\n2,3\n"
    source = tmp_path / "rows.csv"
    source.write_bytes(text + b"3,oops\n")
    read_fd, write_fd = os.pipe()
    os.write(write_fd, text)
    with os.fdopen(read_fd, "rb") as fp:
        batches = formats.reader("csv")(fp, source="<pipe>", batch_size=2, max_delay=10.0)
        assert next(batches).table.column("x").type == "int64"
        os.write(write_fd, b"3,oops\n")
        os.close(write_fd)
        batch = next(batches)  # the run is read again with x as text: the model decides (--on-error)
        assert batch.table.column("x").to_pylist() == ["oops"] and list(batch.lines) == [4]


def churn_csv(n: int) -> list[bytes]:
    frame = pd.read_parquet(DATA).drop(columns=["Exited"]).head(n)
    return [line.encode() for line in frame.to_csv(index=False).splitlines()]


class Answers:
    """The output lines of a running process, as they come (a thread reads them: one read may bring several)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self._lines: queue.Queue[bytes] = queue.Queue()
        stdout = process.stdout
        self._thread = threading.Thread(target=lambda: [self._lines.put(line) for line in stdout], daemon=True)
        self._thread.start()

    def next(self) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=60)
        except queue.Empty:
            raise AssertionError("no answer while the producer was still open") from None
        parsed: dict[str, Any] = orjson.loads(line)
        return parsed

    def left(self) -> list[bytes]:
        """What else came, once the process's stdout has closed."""
        self._thread.join(timeout=60)
        return list(self._lines.queue)


# Real processes with real pipes; the model is not the point: tests/plain_model.py's spares each process the
# scikit-learn import.
def test_a_short_row_from_a_slow_producer_is_answered_in_place_before_it_closes(plain_flm: Path) -> None:
    header, good, other = churn_csv(2)
    short = b",".join(other.split(b",")[:-1])
    with subprocess.Popen(
        [sys.executable, "-m", "flmcli", "predict", str(plain_flm), "--trust", TRUST, "--from", "csv", "--to",
         "ndjson", "--on-error", "null", "--max-delay", "0.05"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=process_env(),
    ) as process:
        assert process.stdin is not None
        answers = Answers(process)
        try:
            for line in (header, good, short):
                process.stdin.write(line + b"\n")
                process.stdin.flush()
            assert answers.next()["prediction"] is not None
            bad = answers.next()
            assert bad["prediction"] is None and "<stdin>:3: expected 13 fields, got 12" in bad["error"]
            process.stdin.write(good + b"\n")
            process.stdin.flush()
            assert answers.next()["prediction"] is not None
            assert process.poll() is None
        finally:
            process.stdin.close()
        assert process.wait(timeout=60) == 0


def test_a_short_row_from_a_live_producer_fails_the_run_while_it_is_still_open(plain_flm: Path) -> None:
    header, good, other = churn_csv(2)
    short = b",".join(other.split(b",")[:-1])
    with subprocess.Popen(
        [sys.executable, "-m", "flmcli", "predict", str(plain_flm), "--trust", TRUST, "--from", "csv", "--to",
         "ndjson", "--max-delay", "0.05"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=process_env(),
    ) as process:
        assert process.stdin is not None and process.stderr is not None
        answers = Answers(process)
        try:
            process.stdin.write(header + b"\n" + good + b"\n")
            process.stdin.flush()
            assert answers.next()["prediction"] is not None
            process.stdin.write(short + b"\n")
            process.stdin.flush()
            assert process.wait(timeout=60) == 1  # the producer has not closed: the bad row alone ends the run
        finally:
            process.stdin.close()
        err = process.stderr.read().decode()
    assert "<stdin>:3: expected 13 fields, got 12" in err
    assert "Traceback" not in err
    assert answers.left() == []  # nothing after the row before it
