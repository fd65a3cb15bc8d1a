"""A CSV value past the first block that does not fit the type inferred from the first rows (42.5 or 'abc' after
whole numbers, a value in a column empty so far) reads as if it had been among the first rows: its block is read
again with the column widened (csv_types). Every row comes, in order; 'abc' in a number the model takes is an
ordinary bad row for --on-error, named by line and column; every other row's output is what the same rows give as
NDJSON. From a file, stdin redirected from one, a pipe (csv_live) and a live pipe. Blocks are made small here
(BLOCK_SIZE, READ_SIZE) so that a few thousand rows span many."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from flmcli.formats import csv_format
from tests.formats.live import answered_one_by_one
from tests.helpers import CHURN, Ran, invoke, invoke_through_a_pipe

ROWS = 3000


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_format, "BLOCK_SIZE", 16 << 10)  # ~230 churn rows a block
    monkeypatch.setattr(csv_format, "READ_SIZE", 4 << 10)


def churn_rows(n: int = ROWS, changes: dict[tuple[int, str], str] | None = None, *,
               empty: dict[str, int] | None = None, note_every: int = 0) -> list[dict[str, str]]:
    """`n` churn rows as text; `changes[(row, column)]` replaces a value, `empty[column]` leaves the column empty
    in the rows before that one. `note_every`: a quoted note column, every so many rows on two lines."""
    rows = []
    for i in range(n):
        row = {
            "RowNumber": str(i + 1), "CustomerId": str(15600000 + i), "Surname": ("Hill", "Onio", "Chu")[i % 3],
            "CreditScore": str(500 + i % 350), "Geography": ("France", "Spain", "Germany")[i % 3],
            "Gender": ("Female", "Male")[i % 2], "Age": str(18 + i % 60), "Tenure": str(i % 10),
            "Balance": f"{(i * 7919) % 200000}.5" if i % 4 else "0.0", "NumOfProducts": str(1 + i % 3),
            "HasCrCard": str(i % 2), "IsActiveMember": str((i // 2) % 2), "EstimatedSalary": f"{1000 + i * 13}.25",
        }
        for column, before in (empty or {}).items():
            if i < before:
                row[column] = ""
        if note_every:
            row["note"] = "two\nlines" if i % note_every == 3 else "plain"
        rows.append(row)
    for (index, column), value in (changes or {}).items():
        rows[index][column] = value
    return rows


def as_csv(rows: list[dict[str, str]]) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def as_ndjson(rows: list[dict[str, str]]) -> bytes:
    """The same rows as NDJSON: numbers as numbers, anything else (an empty value too) as text."""
    def value(text: str) -> object:
        if not text:
            return None  # an empty CSV value is no value: null
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    return b"".join(orjson.dumps({name: value(text) for name, text in row.items()}) + b"\n" for row in rows)


def line_of(data: bytes, row: int) -> int:
    """The line data row `row` (0-based) starts on, counting the line ends quoted in the values before it."""
    return data[:data.index(b"\n%d," % (row + 1)) + 1].count(b"\n") + 1


def run(path: Path, data: bytes, how: str, *args: str) -> Ran:
    """`flm predict` of `data`: from the file, from stdin (seekable, the bulk reader) or from a pipe (csv_live)."""
    path.write_bytes(data)
    if how == "file":
        return invoke("predict", CHURN, path, *args)
    if how == "stdin":
        return invoke("predict", CHURN, "--from", "csv", *args, input=data)
    return invoke_through_a_pipe("predict", CHURN, "--from", "csv", *args, input=data)


def ndjson_run(path: Path, rows: list[dict[str, str]], *args: str) -> Ran:
    ndjson = path.with_suffix(".ndjson")
    ndjson.write_bytes(as_ndjson(rows))
    return invoke("predict", CHURN, ndjson, *args)


def output_rows(out: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out.decode())))


def parity(got: bytes, want: bytes) -> list[int]:
    """Row for row the same output, but for the error text of a bad row (which names its file and line); the bad
    rows' indexes."""
    got_rows, want_rows = output_rows(got), output_rows(want)
    assert len(got_rows) == len(want_rows)
    bad = []
    for index, (a, b) in enumerate(zip(got_rows, want_rows, strict=True)):
        if b.get("error"):
            assert a["prediction"] == b["prediction"] == "" and a["error"], index
            bad.append(index)
        else:
            assert a == b, index
    return bad


WAYS = ["file", "stdin", "pipe"]


@pytest.mark.parametrize("how", WAYS)
def test_a_decimal_in_a_column_of_whole_numbers_is_scored(tmp_path: Path, how: str) -> None:
    rows = churn_rows(changes={(2500, "Age"): "42.5"})
    ran = run(tmp_path / "rows.csv", as_csv(rows), how, "--to", "csv")
    assert ran.returncode == 0, ran.stderr
    assert len(output_rows(ran.stdout)) == ROWS
    parity(ran.stdout, ndjson_run(tmp_path / "rows.csv", rows, "--to", "csv").stdout)


@pytest.mark.parametrize("how", WAYS)
def test_text_in_a_number_the_model_takes_is_a_bad_row_under_each_on_error(tmp_path: Path, how: str) -> None:
    rows = churn_rows(changes={(2500, "Age"): "abc"})
    data = as_csv(rows)
    line = 2502
    name = "<stdin>" if how != "file" else str(tmp_path / "rows.csv")
    message = f"{name}:{line}: field 'Age': the model cannot use the value 'abc'"

    failed = run(tmp_path / "rows.csv", data, how, "--to", "csv")
    assert failed.returncode == 1
    assert failed.stderr.decode().startswith(f"Error: {message}"), failed.stderr
    assert len(output_rows(failed.stdout)) <= 2500  # none past the bad row
    want = ndjson_run(tmp_path / "rows.csv", rows, "--to", "csv", "--on-error", "null")
    predictions = [r["prediction"] for r in output_rows(want.stdout)]
    assert [r["prediction"] for r in output_rows(failed.stdout)] == predictions[:len(output_rows(failed.stdout))]

    skipped = run(tmp_path / "rows.csv", data, how, "--to", "csv", "--on-error", "skip")
    assert skipped.returncode == 5
    report = orjson.loads(skipped.stderr.splitlines()[0])
    assert report["line"] == line and message in report["error"]
    kept = output_rows(skipped.stdout)
    assert len(kept) == ROWS - 1
    assert [r["prediction"] for r in kept] == predictions[:2500] + predictions[2501:]

    nulled = run(tmp_path / "rows.csv", data, how, "--to", "csv", "--on-error", "null")
    assert nulled.returncode == 0
    got = output_rows(nulled.stdout)
    assert message in got[2500]["error"]
    assert parity(nulled.stdout, want.stdout) == [2500]


@pytest.mark.parametrize("how", WAYS)
def test_a_column_empty_in_the_first_rows_then_filled_reads_on(tmp_path: Path, how: str) -> None:
    rows = churn_rows(empty={"Surname": 2000})  # a column the model does not use
    ran = run(tmp_path / "rows.csv", as_csv(rows), how, "--to", "csv")
    assert ran.returncode == 0, ran.stderr
    parity(ran.stdout, ndjson_run(tmp_path / "rows.csv", rows, "--to", "csv").stdout)


@pytest.mark.parametrize("how", WAYS)
def test_text_in_a_column_the_model_does_not_use_is_no_error(tmp_path: Path, how: str) -> None:
    rows = churn_rows(changes={(2600, "CustomerId"): "C-17"})
    ran = run(tmp_path / "rows.csv", as_csv(rows), how, "--to", "csv")
    assert ran.returncode == 0, ran.stderr
    parity(ran.stdout, ndjson_run(tmp_path / "rows.csv", rows, "--to", "csv").stdout)


@pytest.mark.parametrize("how", WAYS)
def test_kept_values_come_back_as_written(tmp_path: Path, how: str) -> None:
    """--keep-input to CSV: a column of whole numbers that widens to decimals, then to text, is written with the
    values as they came (42 stays 42: pyarrow writes a whole double without '.0'; text is quoted, the same CSV
    value)."""
    rows = churn_rows(changes={(1500, "Age"): "42.5", (2500, "Age"): "abc", (2700, "Tenure"): "7.25"},
                      empty={"Surname": 1000})
    ran = run(tmp_path / "rows.csv", as_csv(rows), how, "--to", "csv", "--keep-input", "--on-error", "null")
    assert ran.returncode == 0, ran.stderr
    got = output_rows(ran.stdout)
    drifted = ["Surname", "Age", "Tenure"]
    assert [{name: row[name] for name in drifted} for row in got] == [{name: row[name] for name in drifted}
                                                                       for row in rows]
    assert [row["prediction"] == "" for row in got] == [i == 2500 for i in range(ROWS)]


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_drift_in_a_file_whose_quoted_values_hold_line_ends(tmp_path: Path, how: str) -> None:
    """Reads end at a row end outside quotes: blocks cut inside a quoted value were 'CSV parser got out of sync'
    (and a block read again must start at a row). The bad row's line counts the quoted line ends before it."""
    rows = churn_rows(changes={(1800, "Age"): "42.5", (2500, "Age"): "abc"}, note_every=7)
    data = as_csv(rows)
    ran = run(tmp_path / "rows.csv", data, how, "--to", "csv", "--on-error", "skip")
    assert ran.returncode == 5, ran.stderr
    report = orjson.loads(ran.stderr.splitlines()[0])
    assert report["line"] == line_of(data, 2500) > 2502
    want = ndjson_run(tmp_path / "rows.csv", rows, "--to", "csv", "--on-error", "skip")
    assert ran.stdout == want.stdout


@pytest.mark.parametrize("how", WAYS)
def test_several_drifts_in_one_file(tmp_path: Path, how: str) -> None:
    changes = {(700, "Age"): "42.5", (1100, "CreditScore"): "", (1400, "Balance"): "unknown", (1900, "Age"): "abc",
               (2300, "Tenure"): "3.5", (2301, "NumOfProducts"): "x", (2999, "EstimatedSalary"): "lots"}
    rows = churn_rows(changes=changes, empty={"Surname": 900, "HasCrCard": 1300})
    ran = run(tmp_path / "rows.csv", as_csv(rows), how, "--to", "csv", "--on-error", "null")
    assert ran.returncode == 0, ran.stderr
    bad = parity(ran.stdout, ndjson_run(tmp_path / "rows.csv", rows, "--to", "csv", "--on-error", "null").stdout)
    assert {1900, 2301} <= set(bad) <= {1400, 1900, 2301, 2999}  # text in numbers the model takes


def read_tables(data: bytes, **kw: object) -> list[pa.Table]:
    return [batch.table for batch in csv_format.read(io.BytesIO(data), source="rows.csv", batch_size=500,
                                                     **kw)]  # type: ignore[arg-type,misc]


def test_every_row_comes_once_in_order_and_each_block_is_read_again_at_most_once_per_widening(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A column drifting in every block, twenty columns one after another: each restart widens a column, so the
    input is read again at most a block per widening (null, whole numbers, decimals, text), never from the
    start."""
    columns = 20
    blocks = 24
    per_block = 200
    header = ",".join(["id"] + [f"c{j}" for j in range(columns)])
    lines = [header]
    for i in range(blocks * per_block):
        block = i // per_block
        values = [str(i)] + ["" if j > block else "1.5" if j == block - 1 and i % per_block == 9 else
                             "x" if j == block - 2 and i % per_block == 9 else str(j) for j in range(columns)]
        lines.append(",".join(values))
    data = ("\n".join(lines) + "\n").encode()
    restarts: list[int] = []
    again = csv_format._ShortReads.again

    def counted(self: csv_format._ShortReads, index: int) -> csv_format._ShortReads:
        restarts.append(index)
        return again(self, index)

    monkeypatch.setattr(csv_format._ShortReads, "again", counted)
    tables = read_tables(data)
    ids = [value for table in tables for value in table.column("id").to_pylist()]
    assert ids == list(range(blocks * per_block))
    assert 0 < len(restarts) <= 3 * columns
    assert len(restarts) <= 2 * blocks  # a block's drifting columns are widened together

    def text(value: object) -> str:
        return "" if value is None else str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)

    for j in range(columns):
        got = [text(value) for table in tables for value in table.column(f"c{j}").to_pylist()]
        assert got == [line.split(",")[j + 1] for line in lines[1:]], j


def test_a_live_pipe_widens_a_later_runs_columns() -> None:
    """csv_live parses each run of lines with the first run's types: a later run's 42.5, 'abc' or a value in a
    column empty so far is read again with those columns widened, and the rows typed before stay apart."""
    pieces = [b"id,x,name,y\n1,2,,5\n2,3,,6\n", b"3,4.5,,7\n", b"4,abc,Ann,8\n", b"5,6,Bob,9\n"]

    def read(fp: object) -> Iterator[object]:
        return csv_format.read(fp, source="<pipe>", batch_size=100, max_delay=0.01)  # type: ignore[arg-type]

    batches = answered_one_by_one(read, pieces)  # type: ignore[arg-type]
    rows = [row for batch in batches for row in batch.table.to_pylist()]  # type: ignore[attr-defined]
    assert [row["id"] for row in rows] == [1, 2, 3, 4, 5]
    assert [row["x"] for row in rows] == [2, 3, 4.5, "abc", "6"]
    assert [row["name"] for row in rows][2:] == [None, "Ann", "Bob"]
    assert [list(batch.lines) for batch in batches] == [[2, 3], [4], [5], [6]]  # type: ignore[attr-defined]


def test_a_pipe_of_many_runs(tmp_path: Path) -> None:
    """~2 MiB through a pipe, read in runs of up to 1 MiB (chunks.CHUNK_SIZE), the drifts in a later one."""
    rows = churn_rows(30_000, changes={(25_000, "Age"): "42.5", (26_000, "Age"): "abc"})
    data = as_csv(rows)
    ran = invoke_through_a_pipe("predict", CHURN, "--from", "csv", "--to", "csv", "--on-error", "null", input=data)
    assert ran.returncode == 0, ran.stderr
    ndjson = tmp_path / "rows.ndjson"
    ndjson.write_bytes(as_ndjson(rows))
    assert parity(ran.stdout, invoke("predict", CHURN, ndjson, "--to", "csv", "--on-error", "null").stdout) == [26_000]


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "stream"])
@pytest.mark.parametrize("after", [1, 4, 40])
def test_read_again_as_text_from_the_start_after_a_drift_mid_input(seekable: bool, after: int) -> None:
    """The model's text columns known only once the reader read on (csv_format.SPECULATE): the input is read again
    from its start, a stream from what was recorded and the bytes read past the last whole row, a drift before or
    after the answer; the same rows as when the text columns are known at once."""
    from tests.formats.test_csv_reads_while_loading import Later, Stream, plain

    rows = [f"{'0' if i % 3 == 0 else ''}{2100 + i % 50},{i % 7}.5,{i}" for i in range(20_000)]
    rows[3000] = "2100,abc,3000"  # x: decimals, then text
    rows[9000] = "2100,1.5,9000.5"  # i: whole numbers, then decimals
    data = ("code,x,i\n" + "\n".join(rows) + "\n").encode()

    def read(as_text: object) -> list[dict[str, object]]:
        fp = io.BufferedReader(Stream(data)) if not seekable else io.BytesIO(data)
        return [row for batch in csv_format.read(fp, source="in.csv", batch_size=700, as_text=as_text)  # type: ignore[arg-type]
                for row in batch.table.to_pylist()]  # type: ignore[union-attr]

    want = read(plain({"code"}))
    assert [row["i"] for row in want] == [int(r.split(",")[2]) if i != 9000 else 9000.5 for i, r in enumerate(rows)]
    assert read(Later({"code"}, after)) == want
    assert read(Later((), after)) == read(plain(()))
