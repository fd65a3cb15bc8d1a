"""JSON arrays of arrays through typed columns (`json_columns`, `json_array.read_typed`).

Two bars. The column parser takes only text that is valid JSON and gives exactly the values orjson decodes;
everything else it refuses (None), leaving the rows to orjson. And `flm predict` writes the same bytes,
messages and exit status as the row-by-row reader for every shape of array input: pretty-printed, spaced,
exponents, -0.0, huge integers, strings holding `],[` or escapes, nested values, nulls, booleans, short rows,
numbers JSON does not allow, rows split across read chunks, type drift between pieces, Flama's envelope.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from flmcli.formats import json_array, json_columns
from tests.formats.live import answered_one_by_one
from tests.formats.model_calls import each_input_scored_once, each_model_loaded_once
from tests.formats.test_columnar_parity import CHURN, CHURN_POSITIONAL, assert_same, churn_rows, run


@pytest.fixture(autouse=True, scope="module")
def _models_once() -> Iterator[None]:
    """Each model file read once, each distinct model input scored once (tests/formats/model_calls.py)."""
    with each_model_loaded_once(), each_input_scored_once():
        yield


def decoded(text: bytes) -> list[Any]:
    return orjson.loads(b"[" + text + b"]")  # type: ignore[no-any-return]


def as_rows(table: Any) -> list[list[Any]]:
    return [list(row.values()) for row in table.to_pylist()]


@pytest.mark.parametrize("text", [
    b'[1,"a",2.5],[2,"b",0.5]',
    b'[1, "a b", 2.5], [2, "c, d", 0.5]',  # json.dumps separators (the comma in a string: refused, still equal)
    b'[ 1 , "x" ]',
    b'[1e5,-0.0,0],[2E-3,1.5e+2,-0]',
    b'[9223372036854775807],[-9223372036854775808]',
    b'[1],[2.5]',
    b'["\xc3\xa9\xe2\x98\x83",""],["\x7f","]"]',
    b'[1234567890123456.5],[0.5]',
    b'[0.1000000000000000055511151231257827],[2.2250738585072011e-308],[4.9e-324]',
])
def test_accepted_text_decodes_as_orjson_does(text: bytes) -> None:
    table = json_columns.parse(text)
    if table is None:
        return  # refused is always allowed: orjson decides
    rows = as_rows(table)
    expected = decoded(text)
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected):
        # Values equal and of the same kind, floats bit for bit (-0.0 stays -0.0); int-and-float columns are floats.
        assert [orjson.dumps(float(w) if isinstance(g, float) else w) for g, w in zip(got, want)] == \
            [orjson.dumps(g) for g in got]


@pytest.mark.parametrize("text", [
    b'[01]', b'[-01]', b'[0x10]', b'[+1]', b'[.5]', b'[5.]', b'[1.e5]', b'[NaN]', b'[Infinity]', b'[-Infinity]',
    b'[nan]', b'[inf]', b'[1e999]', b'[1,]', b'[1],[]', b'[]', b'[1,2],[3]', b'[true]', b'[null]', b'[1,null]',
    b'["a\\"b"]', b'["a\\u00e9"]', b'["a\tb"]', b'["a\x01"]', b'["a"b"]', b'["]', b'[1]x[2]', b'[1] ,[2]',
    b'[1],\n[2]', b'[1,[2]],[3,[4]]', b'[1,{"a":2}]', b'["x],[y"],["z"]', b'["],["]', b'[9223372036854775808]',
    b'[12345678901234567],[0.5]', b'[18446744073709551616]', b'["\xff"]', b'["\xc3("]', b"['a']", b'[1 2]',
    b'[1\t]', b'[1],{"a":1}', b'[1]],[[2]',
])
def test_refused_text(text: bytes) -> None:
    assert json_columns.parse(text) is None


def test_random_rows_are_refused_or_decoded_exactly() -> None:
    """Random tokens, valid and not: whatever the column parser accepts is valid JSON and decodes as orjson does."""
    rng = random.Random(11)
    tokens = ["0", "-0", "7", "-12", "01", "1.5", "-0.0", "1e5", "2E-7", ".5", "5.", "+3", "NaN", "1e400",
              "123456789012345678", "9223372036854775808", '"a"', '""', '"é"', '"a,b"', '"],["', "true", "null",
              "[1]", '"\\n"', " 4", "4 ", '"x" ']
    for _ in range(400):
        width = rng.randint(1, 4)
        kinds = [rng.choice(tokens) for _ in range(width)]
        rows = [",".join(rng.choice([kind, rng.choice(tokens)]) if rng.random() < 0.1 else kind for kind in kinds)
                for _ in range(rng.randint(1, 6))]
        text = ",".join(f"[{row}]" for row in rows).encode()
        table = json_columns.parse(text)
        if table is None:
            continue
        expected = decoded(text)  # raises if the parser took invalid JSON
        got = as_rows(table)
        assert [[float(v) if isinstance(g, float) else v for v, g in zip(w, r)] for w, r in zip(expected, got)] == got
        assert all(type(g) is type(w) or isinstance(g, float) for w, r in zip(expected, got) for g, w in zip(r, w))


def churn_arrays() -> list[list[Any]]:
    return [list(row.values()) for row in churn_rows()]


def array_case(name: str) -> bytes:
    rows = churn_arrays()
    if name == "compact":
        return orjson.dumps(rows)
    if name == "pretty":
        return json.dumps(rows, indent=2).encode()
    if name == "spaced":  # Python's json.dumps separators
        return json.dumps(rows).encode()
    if name == "exponents":
        rows[4][12], rows[18][8], rows[33][3] = "@A@", "@B@", "@C@"
        return orjson.dumps(rows).replace(b'"@A@"', b"1.0134888e5").replace(b'"@B@"', b"0E0").replace(
            b'"@C@"', b"6.5E+2")
    if name == "negative_zero":
        for row in rows[:20]:
            row[8] = -0.0
        return orjson.dumps(rows)
    if name == "huge_ints":
        rows[3][1] = 2**63 + 1
        rows[25][1] = "HUGE"  # beyond 64 bits, which orjson decodes as a float and cannot encode
        return orjson.dumps(rows).replace(b'"HUGE"', str(2**70).encode())
    if name == "brackets_in_strings":
        rows[2][2] = "O],[Brien"
        rows[30][2] = "],["
        return orjson.dumps(rows)
    if name == "escapes":
        rows[5][2] = 'Mc"Name'
        rows[33][2] = "tab\there é"
        return orjson.dumps(rows)
    if name == "nested":
        rows[7][6] = [41]
        rows[31][4] = {"name": "France"}
        return orjson.dumps(rows)
    if name == "nulls":
        rows[9][6] = None
        rows[35][4] = None
        return orjson.dumps(rows)
    if name == "booleans":
        for row in rows[16:32]:
            row[10] = row[10] == 1
        return orjson.dumps(rows)
    if name == "short_and_long_rows":
        rows[11] = rows[11][:-1]
        rows[27] = rows[27] + [1]
        return orjson.dumps(rows)
    if name == "not_json_numbers":  # each a later row of its own piece when read in small chunks
        rows[5][3], rows[21][6], rows[34][7] = "@A@", "@B@", "@C@"
        return orjson.dumps(rows).replace(b'"@A@"', b"0619").replace(b'"@B@"', b"NaN").replace(b'"@C@"', b"+2")
    if name == "bad_syntax":
        return orjson.dumps(rows)[:-40]
    if name == "drift":  # ints in the first pieces meet floats later; a float column meets ints
        for row in rows[20:]:
            row[6] = row[6] + 0.5
        for row in rows[:10]:
            row[8] = int(row[8])
        return orjson.dumps(rows)
    if name == "strings_for_numbers":
        rows[13][3] = "700"
        return orjson.dumps(rows)
    if name == "envelope":
        return orjson.dumps({"input": rows})
    if name == "envelope_pretty":
        return json.dumps({"input": rows}, indent=1).encode()
    if name == "crlf_bom":
        return b"\xef\xbb\xbf" + json.dumps(rows, indent=1).replace("\n", "\r\n").encode()
    raise AssertionError(name)


ARRAY_CASES = ("compact", "pretty", "spaced", "exponents", "negative_zero", "huge_ints", "brackets_in_strings",
               "escapes", "nested", "nulls", "booleans", "short_and_long_rows", "not_json_numbers", "bad_syntax",
               "drift", "strings_for_numbers", "envelope", "envelope_pretty", "crlf_bom")


@pytest.fixture(params=[1 << 20, 97], ids=["chunk-1MiB", "chunk-97B"])
def chunk_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Rows split across read chunks (97 bytes cuts through rows and tokens) or read in one."""
    monkeypatch.setattr(json_array, "CHUNK_SIZE", request.param)
    return int(request.param)


@pytest.mark.parametrize("case", ARRAY_CASES)
@pytest.mark.parametrize("to", ("ndjson", "json", "csv", "parquet"))
def test_array_rows_every_output(case: str, to: str, chunk_size: int, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "rows.json"
    source.write_bytes(array_case(case))
    assert_same([str(CHURN), str(source), "--to", to, "--batch-size", "16"], monkeypatch)


@pytest.mark.parametrize("case", ARRAY_CASES)
@pytest.mark.parametrize("on_error", ("skip", "null"))
def test_array_rows_on_error(case: str, on_error: str, chunk_size: int, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "rows.json"
    source.write_bytes(array_case(case))
    assert_same([str(CHURN), str(source), "--batch-size", "7", "--on-error", on_error], monkeypatch)
    assert_same([str(CHURN_POSITIONAL), str(source), "--batch-size", "16", "--on-error", on_error, "--method",
                 "predict_proba", "--to", "ndjson"], monkeypatch)


def test_the_columns_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clean array rows reach the model from typed columns, never decoded by orjson (else parity proves nothing)."""
    source = tmp_path / "rows.json"
    source.write_bytes(array_case("spaced"))
    decodes: list[int] = []
    original = json_array._Columns.records

    def counting(self: Any, start: int, stop: int) -> list[Any]:
        decodes.append(stop - start)
        return original(self, start, stop)

    monkeypatch.setattr(json_array._Columns, "records", counting)
    monkeypatch.setattr(json_array, "CHUNK_SIZE", 1000)
    code, out, _ = run([str(CHURN), str(source), "--batch-size", "16"], False, monkeypatch)
    assert code == 0 and len(orjson.loads(out)) == 40
    assert decodes == []
    batches = list(json_array.read_typed(io.BytesIO(array_case("compact")), source="s", batch_size=16))
    assert [len(b) for b in batches] == [16, 16, 8]
    assert all(b.table is not None and b.positional and b.fallback is not None for b in batches)
    assert [b.fallback().records for b in batches if b.fallback] == [churn_arrays()[i:i + 16] for i in (0, 16, 32)]


def test_batches_hold_the_rows_the_row_by_row_reader_would(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_array, "CHUNK_SIZE", 300)
    for case in ARRAY_CASES:
        text = array_case(case)
        try:
            slow = list(json_array.read(io.BytesIO(text), source="s", batch_size=5))
        except Exception as error:  # noqa: BLE001 - the same error, after the same batches
            with pytest.raises(type(error)):
                list(json_array.read_typed(io.BytesIO(text), source="s", batch_size=5))
            continue
        fast = list(json_array.read_typed(io.BytesIO(text), source="s", batch_size=5))
        assert [len(b) for b in fast] == [len(b) for b in slow], case
        assert [(b.fallback() if b.fallback else b).records for b in fast] == [b.records for b in slow], case
        assert [b.first_row for b in fast] == [b.first_row for b in slow], case


def test_live_pipe_answers_each_row_before_the_next_is_written() -> None:
    """Rows of a JSON array arriving one at a time on a pipe are handed on after --max-delay, each as it came."""
    rows = churn_arrays()[:3]
    pieces = [(b"[" if i == 0 else b",") + orjson.dumps(row) for i, row in enumerate(rows)]
    got = answered_one_by_one(
        lambda fp: json_array.read_typed(fp, source="<pipe>", batch_size=1000, max_delay=0.01), pieces, end=b"]"
    )
    assert [len(b) for b in got] == [1, 1, 1]
    assert [(b.fallback() if b.fallback else b).records for b in got] == [[row] for row in rows]
    assert all(b.table is not None for b in got)
