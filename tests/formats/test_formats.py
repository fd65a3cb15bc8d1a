"""Readers, writers and detection of flmcli.formats, on the churn sample converted to every format."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from flmcli import formats
from flmcli.batch import BadRecord, Batch, Scored
from flmcli.errors import InputError
from tests.helpers import DATA as CHURN

ROWS = 25


@pytest.fixture(scope="module")
def churn() -> pa.Table:
    return pq.read_table(CHURN).slice(0, ROWS).replace_schema_metadata(None)


@pytest.fixture(scope="module")
def files(churn: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("churn")
    rows = churn.to_pylist()
    paths = {
        "json": root / "data.json",
        "ndjson": root / "data.ndjson",
        "csv": root / "data.csv",
        "tsv": root / "data.tsv",
        "parquet": root / "data.parquet",
        "arrow": root / "data.arrow",
        "arrows": root / "data.arrows",
    }
    paths["json"].write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    paths["ndjson"].write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    pacsv.write_csv(churn, paths["csv"])
    pacsv.write_csv(churn, paths["tsv"], write_options=pacsv.WriteOptions(delimiter="\t"))
    pq.write_table(churn, paths["parquet"], row_group_size=7)
    with ipc.new_file(paths["arrow"], churn.schema) as writer:
        writer.write_table(churn, max_chunksize=6)
    with ipc.new_stream(paths["arrows"], churn.schema) as writer:
        writer.write_table(churn, max_chunksize=6)
    return paths


def read_all(fmt: str, data: bytes, batch_size: int = 10, source: str = "in") -> list[Batch]:
    return list(formats.reader(fmt)(io.BytesIO(data), source=source, batch_size=batch_size, max_delay=None))


def rows_of(batches: list[Batch]) -> list[dict]:
    out: list[dict] = []
    for batch in batches:
        out.extend(batch.records if batch.records is not None else batch.table.to_pylist())
    return out


# --- detection ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt"),
    [("a.json", "json"), ("a.NDJSON", "ndjson"), ("a.jsonl", "ndjson"), ("a.csv", "csv"), ("a.tsv", "tsv"),
     ("a.parquet", "parquet"), ("a.pq", "parquet"), ("a.arrow", "arrow"), ("a.arrows", "arrow"),
     ("a.feather", "arrow"), ("a.ipc", "arrow")],
)
def test_detect_by_extension_wins_over_bytes(path: str, fmt: str) -> None:
    assert formats.detect(path, b"PAR1", None) == fmt


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"PAR1\x15\x04", "parquet"),
        (b"ARROW1\x00\x00", "arrow"),
        (b"\xff\xff\xff\xff\xe0\x00", "arrow"),
        (b"  [[1, 2]]", "json"),
        (b'{"a": 1}\n{"a": 2}\n', "ndjson"),
        (b'{"a": 1}\n', "ndjson"),
        (b'{"input": [[1, 2]]}', "json"),
        (b'{\n  "input": [\n    [1, 2]', "json"),
        (b'{\n  "a": 1\n}\n', "ndjson"),
        (b"\xef\xbb\xbf[[1]]", "json"),
        (b"\xef\xbb\xbf[1]", "ndjson"),  # one positional row on a line
        (b"a,b\n1,2\n", "csv"),
        (b"a\tb\n1\t2\n", "tsv"),
        (b"", "ndjson"),
    ],
)
def test_detect_by_first_bytes(head: bytes, fmt: str) -> None:
    assert formats.detect(None, head, None) == fmt


def test_explicit_format_wins() -> None:
    assert formats.detect("a.csv", b"[1]", "ndjson") == "ndjson"
    with pytest.raises(InputError, match="unknown format 'xml'"):
        formats.detect(None, b"", "xml")


def test_binary_garbage_is_refused_with_a_hint() -> None:
    with pytest.raises(InputError, match="cannot detect the input format") as info:
        formats.detect(None, bytes(range(256)), None)
    assert "--from" in (info.value.hint or "")


def test_open_input_detects_files_without_extension(files: dict[str, Path], tmp_path: Path) -> None:
    for fmt in ("ndjson", "csv", "parquet", "arrow", "arrows"):
        bare = tmp_path / f"noext-{fmt}"
        bare.write_bytes(files[fmt].read_bytes())
        with formats.open_input(str(bare), None) as (found, fp, name):
            assert found == ("arrow" if fmt == "arrows" else fmt)
            assert name == str(bare)
            assert fp.read(4) == files[fmt].read_bytes()[:4]  # peeking consumed nothing


def test_open_input_missing_file() -> None:
    with pytest.raises(InputError, match="nope.csv: cannot open"):
        with formats.open_input("nope.csv", None):
            pass


STDIN_PROBE = """
import sys
from flmcli import formats
with formats.open_input("-", None) as (fmt, fp, name):
    print(fmt, name, flush=True)
    for batch in formats.reader(fmt)(fp, source=name, batch_size=1000, max_delay=0.01):
        print(len(batch), batch.lines, flush=True)
"""


def test_stdin_detection_does_not_wait_for_end_of_input() -> None:
    # Like `tail -f events.ndjson | flm predict`: one row arrives, the pipe stays open.
    with subprocess.Popen([sys.executable, "-c", STDIN_PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(b'{"a": 1}\n')
            child.stdin.flush()
            assert child.stdout.readline() == b"ndjson <stdin>\n"
            assert child.stdout.readline() == b"1 [1]\n"  # scored before the producer closed the pipe
            child.stdin.write(b'{"a": 2}\n{"a": 3}\n')
            child.stdin.close()
            assert child.stdout.read() == b"2 [2, 3]\n"
        finally:
            child.kill()
            child.wait()


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_stdin_parquet_and_arrow_file_are_spooled(files: dict[str, Path], fmt: str, churn: pa.Table) -> None:
    code = (
        "from flmcli import formats\n"
        "with formats.open_input('-', None) as (fmt, fp, name):\n"
        "    print(fmt, sum(len(b) for b in formats.reader(fmt)(fp, source=name, batch_size=4, max_delay=None)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], input=files[fmt].read_bytes(), capture_output=True, check=True)
    assert done.stdout == f"{fmt} {churn.num_rows}\n".encode()


# --- readers -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "tsv", "parquet", "arrow", "arrows"])
def test_every_reader_yields_the_churn_rows(files: dict[str, Path], churn: pa.Table, fmt: str) -> None:
    with formats.open_input(str(files[fmt]), None) as (found, fp, name):
        batches = list(formats.reader(found)(fp, source=name, batch_size=10, max_delay=None))
    assert [len(batch) for batch in batches] == [10, 10, 5]
    assert [batch.first_row for batch in batches] == [1, 11, 21]
    assert rows_of(batches) == churn.to_pylist()
    assert all(batch.source == str(files[fmt]) for batch in batches)


def test_ndjson_keeps_line_numbers_and_skips_blank_lines() -> None:
    batches = read_all("ndjson", b'[1, 2]\n\n  \n{"a": 3}\r\n[4]', batch_size=2)
    assert [batch.records for batch in batches] == [[[1, 2], {"a": 3}], [[4]]]
    assert [batch.lines for batch in batches] == [[1, 4], [5]]


def test_csv_lines_count_the_header(files: dict[str, Path]) -> None:
    batches = read_all("csv", files["csv"].read_bytes(), batch_size=10)
    assert list(batches[1].lines or ()) == list(range(12, 22))
    assert batches[1].line_of(0) == 12


def test_numbers_round_trip_exactly() -> None:
    text = b"[[0.1, 1e-7, 123456789.123456789, 9007199254740993, -0.0, 1.7976931348623157e308]]"
    expected = orjson.loads(text)
    for fmt, data in (("json", text), ("ndjson", text[1:-1])):
        (batch,) = read_all(fmt, data)
        assert batch.records == expected
        assert [type(v) for v in batch.records[0]] == [type(v) for v in expected[0]]


def test_json_flama_body_and_row_numbers() -> None:
    body = orjson.dumps({"input": [[1, 2], [3, 4], [5, 6]]})
    batches = read_all("json", body, batch_size=2)
    assert [batch.records for batch in batches] == [[[1, 2], [3, 4]], [[5, 6]]]
    assert [batch.line_of(0) for batch in batches] == [1, 3]


TRICKY_ROWS = [
    {"s": "a},{b", "t": "x],[y"},
    [[1, 2], [3, {"k": [4]}]],
    {"nested": {"a": [{"b": 1}, {"c": 2}]}},
    ["}, {", "] , [", "\\\"},{"],
    {},
    [],
] * 7


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("indent", [False, True])
@pytest.mark.parametrize("wrapped", [False, True])
def test_json_array_split_into_chunks_matches_a_whole_parse(
    monkeypatch: pytest.MonkeyPatch, chunk: int, indent: bool, wrapped: bool
) -> None:
    from flmcli.formats import json_array

    monkeypatch.setattr(json_array, "CHUNK_SIZE", chunk)
    # A key after the rows: every row is read (the tail is parsed past the array's `]`), then the key refused.
    document = {"input": TRICKY_ROWS, "after": [1]} if wrapped else TRICKY_ROWS
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2 if indent else 0)
    batches: list[Batch] = []
    with pytest.raises(InputError, match="field 'after': not a field") if wrapped else contextlib.nullcontext():
        for batch in formats.reader("json")(io.BytesIO(data), source="in", batch_size=5, max_delay=None):
            batches.append(batch)
    assert [row for batch in batches for row in batch.records] == TRICKY_ROWS
    assert [batch.first_row for batch in batches] == list(range(1, len(TRICKY_ROWS) + 1, 5))


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_json_array_from_a_live_pipe_in_small_chunks(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    from flmcli.formats import json_array

    monkeypatch.setattr(json_array, "CHUNK_SIZE", chunk)
    data = orjson.dumps({"input": TRICKY_ROWS}, option=orjson.OPT_INDENT_2)
    read_fd, write_fd = os.pipe()

    def producer() -> None:
        for start in range(0, len(data), 5):
            os.write(write_fd, data[start : start + 5])
        os.close(write_fd)

    thread = threading.Thread(target=producer)
    thread.start()
    with os.fdopen(read_fd, "rb") as fp:
        batches = list(formats.reader("json")(fp, source="<pipe>", batch_size=5, max_delay=0.001))
    thread.join()
    assert [row for batch in batches for row in batch.records] == TRICKY_ROWS
    assert [batch.line_of(0) for batch in batches] == [sum(len(b) for b in batches[:i]) + 1 for i in range(len(batches))]


def test_json_array_error_row_after_many_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from flmcli.formats import json_array

    monkeypatch.setattr(json_array, "CHUNK_SIZE", 16)
    data = orjson.dumps([[i, i * 0.5] for i in range(100)]).replace(b"[57,28.5]", b"[57,28.5,]")
    with pytest.raises(InputError, match=r"^in: row 58: invalid JSON"):
        read_all("json", data, batch_size=10)


@pytest.mark.parametrize(
    ("fmt", "data", "message"),
    [
        ("json", b'[[1], [2], [3,', r"^in: row 3: invalid JSON"),
        ("json", b"[[1]] trailing", r"^in: row 2: invalid JSON"),
    ],
)
def test_malformed_input_names_the_line_or_row(fmt: str, data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_all(fmt, data)


@pytest.mark.parametrize(
    ("fmt", "data", "reason"),
    [
        ("ndjson", b'{"a": 1}\n{"a": 2,,}\n[3]\n', "invalid JSON: unexpected character, expected a string key (column 9)"),
        ("ndjson", b'{"a": 1}\n5\n[3]\n', "expected an array or object row, got int"),
        ("json", b'[{"a": 1}, 5, [3]]', "expected an array or object row, got int"),
    ],
)
def test_a_bad_row_stays_in_place_for_on_error(fmt: str, data: bytes, reason: str) -> None:
    # The rows around it are still read; the predictor reports it (naming its line) or skips/nulls it.
    (batch,) = read_all(fmt, data)
    assert batch.records is not None
    assert batch.records[0] == {"a": 1} and batch.records[2] == [3]
    assert batch.records[1] == BadRecord(reason)
    assert batch.line_of(1) == 2


def test_pretty_printed_json_as_ndjson_gets_a_hint() -> None:
    pretty = orjson.dumps({"a": 1}, option=orjson.OPT_INDENT_2) + b"\n" + orjson.dumps({"a": 2}, option=orjson.OPT_INDENT_2)
    (batch,) = read_all("ndjson", pretty)
    first = batch.records[0]
    assert isinstance(first, BadRecord) and batch.line_of(0) == 1
    assert first.reason.startswith("looks like pretty-printed JSON")
    assert "jq -c" in (first.hint or "")


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "tsv"])
def test_empty_input_gives_no_batches(fmt: str) -> None:
    assert read_all(fmt, b"") == []
    assert read_all(fmt, b"  \n") == [] or fmt in ("csv", "tsv")


def test_csv_type_change_after_the_first_block_reads_on_with_the_column_as_text(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from flmcli.formats import csv_format

    monkeypatch.setattr(csv_format, "BLOCK_SIZE", 1 << 10)
    data = b"id,x\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(2000)) + b"1,oops\n"
    batches = read_all("csv", data, batch_size=500)
    rows = [row for batch in batches for row in batch.table.to_pylist()]
    assert len(rows) == 2001 and rows[-1] == {"id": 1, "x": "oops"}  # the model then decides (--on-error)
    assert [row["x"] for row in rows[:2000]] == [i if isinstance(row["x"], int) else str(i)
                                                  for i, row in enumerate(rows[:2000])]


def test_live_csv_keeps_the_first_rows_types_and_line_numbers() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"id,x\n1,2\n2,3\n3,4")  # the last line has no newline yet
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fp:
        batches = list(formats.reader("csv")(fp, source="<pipe>", batch_size=2, max_delay=10.0))
    assert [batch.table.to_pylist() for batch in batches] == [[{"id": 1, "x": 2}, {"id": 2, "x": 3}], [{"id": 3, "x": 4}]]
    assert [list(batch.lines or ()) for batch in batches] == [[2, 3], [4]]
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"id,x\n1,2\n")
    with os.fdopen(read_fd, "rb") as fp:
        batches_iter = formats.reader("csv")(fp, source="<pipe>", batch_size=1, max_delay=10.0)
        assert next(batches_iter).table.to_pylist() == [{"id": 1, "x": 2}]  # x is now int64
        os.write(write_fd, b"2,oops\n")
        os.close(write_fd)
        batch = next(batches_iter)  # read again with x as text (csv_types): the model decides (--on-error)
        assert batch.table.to_pylist() == [{"id": 2, "x": "oops"}] and list(batch.lines or ()) == [3]


def test_corrupt_parquet_is_an_input_error() -> None:
    with pytest.raises(InputError, match="in: cannot read Parquet"):
        read_all("parquet", b"PAR1 not really")


# --- idle flush --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "first", "rest"),
    [
        ("ndjson", b'{"n": 1}\n', b'{"n": 2}\n'),
        ("json", b'[{"n": 1}', b', {"n": 2}]'),
        ("json", b'{"input": [{"n": 1}\n', b',\n {"n": 2}\n]}'),
        ("csv", b"n\n1\n", b"2\n"),
        ("tsv", b"n\tm\n1\tx\n", b"2\ty\n"),
    ],
)
def test_partial_batch_is_flushed_when_the_producer_pauses(fmt: str, first: bytes, rest: bytes) -> None:
    read_fd, write_fd = os.pipe()
    first_seen = threading.Event()
    closed = threading.Event()

    def producer() -> None:
        os.write(write_fd, first)
        first_seen.wait(30)  # guard against a hang only; the reader is expected to flush long before
        os.write(write_fd, rest)
        closed.set()
        os.close(write_fd)

    thread = threading.Thread(target=producer)
    thread.start()
    arrivals = []
    try:
        with os.fdopen(read_fd, "rb") as fp:
            for batch in formats.reader(fmt)(fp, source="<pipe>", batch_size=100, max_delay=0.05):
                records = batch.records if batch.records is not None else batch.table.select(["n"]).to_pylist()
                arrivals.append((records, closed.is_set()))
                first_seen.set()
    finally:
        first_seen.set()
        thread.join()
    assert arrivals == [([{"n": 1}], False), ([{"n": 2}], True)]


def test_without_max_delay_a_pipe_fills_whole_batches() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"[1]\n[2]\n[3]\n")
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fp:
        batches = list(formats.reader("ndjson")(fp, source="<pipe>", batch_size=2, max_delay=None))
    assert [batch.records for batch in batches] == [[[1], [2]], [[3]]]


# --- writers -----------------------------------------------------------------------------------------------------


def records_batch() -> Batch:
    return Batch(source="in", records=[{"id": 1, "x": 0.5}, {"id": 2, "x": 1.5}, {"id": 3, "x": 2.5}], lines=[1, 2, 4])


def positional_batch() -> Batch:
    return Batch(source="in", records=[[1, 0.5], [2, 1.5], [3, 2.5]], lines=[1, 2, 3])


def columnar_batch() -> Batch:
    return Batch(source="in", table=pa.table({"id": [1, 2, 3], "x": [0.5, 1.5, 2.5]}))


def flat(batch: Batch, **kwargs: object) -> Scored:
    return Scored(batch=batch, outputs=pd.DataFrame({"prediction": [0, 1, 0]}), **kwargs)  # type: ignore[arg-type]


def proba(batch: Batch, **kwargs: object) -> Scored:
    outputs = pd.DataFrame({0: [0.86, 0.2, 1 / 3], 1: [0.14, 0.8, 2 / 3]})
    return Scored(batch=batch, outputs=outputs, flat=False, **kwargs)  # type: ignore[arg-type]


def written(fmt: str, scored: list[Scored], **kwargs: object) -> bytes:
    out = io.BytesIO()
    count = formats.writer(fmt)(scored, out, **kwargs)
    assert count == sum(len(s.batch) if s.keep is None else sum(s.keep) for s in scored)
    return out.getvalue()


def test_json_writer_uses_flamas_shape() -> None:
    assert written("json", [flat(records_batch()), flat(positional_batch())]) == b"[0,1,0,0,1,0]\n"
    assert written("json", [proba(records_batch())]) == b"[[0.86,0.14],[0.2,0.8],[0.3333333333333333,0.6666666666666666]]\n"
    assert written("json", []) == b"[]\n"
    assert b"".join(formats.encoder("json")([flat(records_batch())])) == orjson.dumps([0, 1, 0])


def test_ndjson_writer_one_object_per_row() -> None:
    assert written("ndjson", [flat(records_batch())]) == b'{"prediction":0}\n{"prediction":1}\n{"prediction":0}\n'
    assert written("ndjson", [proba(records_batch())]).splitlines()[0] == b'{"0":0.86,"1":0.14}'
    assert written("ndjson", []) == b""


def test_keep_input_shapes() -> None:
    assert written("ndjson", [flat(records_batch())], keep_input=True).splitlines()[1] == (
        b'{"id":2,"x":1.5,"prediction":1}'
    )
    assert written("json", [flat(positional_batch())], keep_input=True) == (
        b'[{"input":[1,0.5],"prediction":0},{"input":[2,1.5],"prediction":1},{"input":[3,2.5],"prediction":0}]\n'
    )
    assert written("ndjson", [proba(columnar_batch())], keep_input=["x"]).splitlines()[0] == (
        b'{"x":0.5,"0":0.86,"1":0.14}'
    )
    assert written("csv", [flat(records_batch())], keep_input=["id"]) == b"id,prediction\n1,0\n2,1\n3,0\n"
    assert written("csv", [flat(positional_batch())], keep_input=True) == (
        b"input.0,input.1,prediction\n1,0.5,0\n2,1.5,1\n3,2.5,0\n"
    )


def test_keep_input_names_a_missing_field() -> None:
    # object rows lacking a kept field keep it as null; a table without the column cannot hold it in any row
    assert written("ndjson", [flat(records_batch())], keep_input=["id", "nope"]).splitlines()[0] == (
        b'{"id":1,"nope":null,"prediction":0}')
    with pytest.raises(InputError, match=r"field 'nope'"):
        written("parquet", [flat(columnar_batch())], keep_input=["nope"])


def test_errors_and_skipped_rows() -> None:
    # --on-error null: every row, an error field on the failed one
    scored = flat(records_batch(), errors=[None, "bad value", None])
    assert written("json", [scored]) == b"[0,null,0]\n"
    assert written("ndjson", [scored]) == b'{"prediction":0}\n{"prediction":null,"error":"bad value"}\n{"prediction":0}\n'
    assert written("csv", [scored]) == b'prediction,error\n0,\n,"bad value"\n0,\n'
    table = pq.read_table(io.BytesIO(written("parquet", [scored])))
    assert table.to_pylist() == [{"prediction": 0, "error": None}, {"prediction": None, "error": "bad value"},
                                 {"prediction": 0, "error": None}]
    # --on-error skip: the failed row dropped, no error field (it is reported on stderr)
    scored = flat(records_batch(), errors=[None, "bad value", None], keep=[True, False, True])
    assert written("json", [scored]) == b"[0,0]\n"
    assert written("ndjson", [scored]) == b'{"prediction":0}\n{"prediction":0}\n'
    assert written("csv", [scored]) == b"prediction\n0\n0\n"
    assert pq.read_table(io.BytesIO(written("parquet", [scored]))).to_pylist() == [{"prediction": 0}] * 2


def test_error_tracking_without_errors_writes_the_plain_shape() -> None:
    scored = flat(records_batch(), errors=[None, None, None])  # --on-error null
    assert written("ndjson", [scored]) == written("ndjson", [flat(records_batch())])
    assert written("csv", [scored]) == b"prediction,error\n0,\n1,\n0,\n"  # the column is there from the start


def test_tsv_writer() -> None:
    assert written("tsv", [proba(records_batch())], keep_input=["id"]).splitlines() == [
        b"id\t0\t1", b"1\t0.86\t0.14", b"2\t0.2\t0.8", b"3\t0.3333333333333333\t0.6666666666666666"
    ]


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_columnar_writers_stream_one_schema(fmt: str) -> None:
    first = flat(columnar_batch())
    later = Scored(batch=columnar_batch(), outputs=pd.DataFrame({"prediction": [1.0, 0.0, 1.0]}))  # float: cast
    data = written(fmt, [first, later], keep_input=True)
    table = pq.read_table(io.BytesIO(data)) if fmt == "parquet" else ipc.open_stream(data).read_all()
    assert table.column_names == ["id", "x", "prediction"]
    assert table.column("prediction").to_pylist() == [0, 1, 0, 1, 0, 1]
    assert table.schema.field("prediction").type == pa.int64()


def test_encode_yields_bytes_per_batch() -> None:
    chunks = list(formats.encoder("ndjson")([flat(records_batch()), flat(records_batch())]))
    assert len(chunks) == 2
    chunks = list(formats.encoder("parquet")([flat(records_batch()), flat(records_batch())]))
    assert len(chunks) >= 2 and chunks[0].startswith(b"PAR1")
    assert pq.read_table(io.BytesIO(b"".join(chunks))).num_rows == 6


def test_broken_pipe_propagates() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    with os.fdopen(write_fd, "wb", buffering=0) as out, pytest.raises(BrokenPipeError):
        formats.writer("ndjson")([flat(records_batch())], out)


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "tsv", "parquet", "arrow"])
def test_round_trip_reader_to_writer(files: dict[str, Path], churn: pa.Table, fmt: str) -> None:
    source = files["arrows" if fmt == "arrow" else fmt]
    batches = read_all(fmt, source.read_bytes(), batch_size=10)
    scored = [
        Scored(batch=batch, outputs=pd.DataFrame({"score": [float(i) / 7 for i in range(len(batch))]}))
        for batch in batches
    ]
    again = rows_of(read_all(fmt, written(fmt, scored, keep_input=True), batch_size=100))
    expected = [{**row, "score": (i % 10) / 7} for i, row in enumerate(churn.to_pylist())]
    assert again == expected


def test_formats_package_is_light_at_import() -> None:
    code = "import sys, flmcli.formats; print(sorted({'numpy', 'pandas', 'pyarrow', 'orjson', 'ijson'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert done.stdout == b"[]\n"
