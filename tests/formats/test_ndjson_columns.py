"""NDJSON object lines through typed columns (`json_columns.parse_objects`, tried first by `ndjson_arrow`).

The bar is the arrays' (tests/formats/test_json_columns.py): the column parser takes only lines that are valid
JSON objects, all with the same keys in the same order, and gives exactly the values orjson decodes; anything
else it refuses (None), and the batch goes to Arrow's JSON reader or the row-by-row reader as before. That
`flm predict` writes the same bytes either way is checked on every NDJSON case of test_columnar_parity.
"""

from __future__ import annotations

import io
import json
import random
from typing import Any

import orjson
import pytest

from flmcli.formats import json_columns, ndjson, ndjson_arrow
from tests.formats.test_columnar_parity import churn_rows


def decoded(text: bytes) -> list[Any]:
    return [orjson.loads(line) for line in text.splitlines()]


def assert_decodes_as_orjson(text: bytes) -> bool:
    """Whether the parser took `text`; if it did, its rows are orjson's, value for value and kind for kind
    (an int column that meets a float is all floats, as in Arrow's JSON reader)."""
    table = json_columns.parse_objects(text, text.count(b"\n") + (0 if text.endswith(b"\n") else 1))
    if table is None:
        return False
    expected = decoded(text)
    got = table.to_pylist()
    assert len(got) == len(expected)
    for row, want in zip(got, expected):
        assert list(row) == list(want)  # the same keys, in the same order
        for name, value in row.items():
            wanted = float(want[name]) if isinstance(value, float) and not isinstance(want[name], bool) else want[name]
            assert type(value) is type(wanted), (name, value, want[name])
            assert orjson.dumps(value) == orjson.dumps(wanted)  # floats bit for bit: -0.0 stays -0.0
    return True


@pytest.mark.parametrize("text", [
    b'{"a":1,"b":"x","c":2.5}\n{"a":2,"b":"y","c":0.5}\n',
    b'{"a": 1, "b": "x y"}\n{"a": 2, "b": "z"}\n',  # Python's json.dumps separators
    b'{"a":1e5,"b":-0.0,"c":0}\n{"a":2E-3,"b":1.5e+2,"c":-0}\n',
    b'{"a":9223372036854775807}\n{"a":-9223372036854775808}\n',
    b'{"a":1}\n{"a":2.5}\n',
    b'{"a":true,"b":false}\n{"a":false,"b":false}\n',
    b'{"\xc3\xa9":"\xe2\x98\x83","b":""}\n{"\xc3\xa9":"\x7f","b":"}"}\n',
    b'{"":1}\n{"":2}\n',
    b'{"a":0.1000000000000000055511151231257827}\n{"a":2.2250738585072011e-308}\n{"a":4.9e-324}\n',
])
def test_accepted_lines_decode_as_orjson_does(text: bytes) -> None:
    assert assert_decodes_as_orjson(text)


def test_churn_lines_are_taken() -> None:
    text = b"".join(orjson.dumps(row) + b"\n" for row in churn_rows())
    assert assert_decodes_as_orjson(text)
    spaced = "".join(json.dumps(row) + "\n" for row in churn_rows()).encode()
    assert assert_decodes_as_orjson(spaced)


@pytest.mark.parametrize("text", [
    b'{"a":01}\n', b'{"a":-01}\n', b'{"a":0x10}\n', b'{"a":+1}\n', b'{"a":.5}\n', b'{"a":5.}\n', b'{"a":1.e5}\n',
    b'{"a":NaN}\n', b'{"a":Infinity}\n', b'{"a":-Infinity}\n', b'{"a":nan}\n', b'{"a":1e999}\n',
    b'{"a":null}\n', b'{"a":1,"b":null}\n', b'{"a":True}\n', b'{"a":true}\n{"a":1}\n', b'{"a":"t"}\n{"a":true}\n',
    b'{"a":"x\\"y"}\n', b'{"a":"\\u00e9"}\n', b'{"a":"a\tb"}\n', b'{"a":"a\x01"}\n', b'{"a":"a"b"}\n',
    b'{"a":"}\n', b'{"a":"x","b":1}\n{"b":1,"a":"x"}\n', b'{"a":1}\n{"a":1,"b":2}\n', b'{"a":1,"b":2}\n{"a":1}\n',
    b'{"a":1,"a":2}\n', b'{"a":[1]}\n', b'{"a":{"b":1}}\n', b'{"a":1,"b":[1,2]}\n', b'{"a":"x,y"}\n',
    b'{"a,b":1}\n', b'{"a":9223372036854775808}\n', b'{"a":12345678901234567}\n{"a":0.5}\n', b'{"a":"\xff"}\n',
    b'{"\xc3(":1}\n', b"{'a':1}\n", b'{"a":1 2}\n', b'{"a":1\t}\n', b'{"a":1}\r\n', b'{"a":1}\n\n{"a":2}\n',
    b'{"a":1}{"a":2}\n', b'{"a":1}\n[1]\n', b'[1]\n', b'{}\n', b'{"a":1}x\n', b'{"a":1,}\n', b'{"a"1}\n',
    b'{"a":}\n', b'{a:1}\n', b'{"a":1} \n', b' {"a":1}\n', b'{"a"::1}\n', b'{"a":"1":"2"}\n',
    b'{"a":1,"b":"x"}\n{"a":1,"b":"x"\n', b'{"a":"x","b":2}\n{"a":"x":"b",2}\n',
    b'{ "a" : 1 }\n{ "a" : 2 }',  # spaces inside the braces: left to the exact path
])
def test_refused_lines(text: bytes) -> None:
    assert json_columns.parse_objects(text, text.count(b"\n") + (0 if text.endswith(b"\n") else 1)) is None


def test_refused_when_the_line_count_is_not_the_rows() -> None:
    assert json_columns.parse_objects(b'{"a":1}\n{"a":2}\n', 3) is None


def test_random_lines_are_refused_or_decoded_exactly() -> None:
    """Random keys and tokens, valid and not: whatever the parser accepts is JSON and decodes as orjson does."""
    rng = random.Random(7)
    tokens = ["0", "-0", "7", "-12", "01", "1.5", "-0.0", "1e5", "2E-7", ".5", "5.", "+3", "NaN", "1e400",
              "123456789012345678", "9223372036854775808", '"a"', '""', '"é"', '"a,b"', '"}"', '"{"', "true",
              "false", "null", "[1]", '{"x":1}', '"\\n"', " 4", "4 ", '"x" ', '"a":1', "1}", '"']
    keys = ['"a"', '"b"', '"é"', '""', '"a,b"', "c", '"a":"b"', '"{"']
    accepted = 0
    for _ in range(2000):
        width = rng.randint(1, 4)
        names = [rng.choice(keys) for _ in range(width)]
        kinds = [rng.choice(tokens) for _ in range(width)]
        lines = []
        for _ in range(rng.randint(1, 6)):
            fields = [f"{rng.choice(keys) if rng.random() < 0.05 else name}:"
                      f"{rng.choice(tokens) if rng.random() < 0.1 else kind}" for name, kind in zip(names, kinds)]
            lines.append("{" + ",".join(fields) + "}")
        text = "\n".join(lines).encode() + rng.choice([b"\n", b""])
        accepted += assert_decodes_as_orjson(text)  # raises if the parser took what orjson refuses
    assert accepted > 50  # the parser was tried on valid lines too, not only refused


@pytest.mark.parametrize("size", [1, 5, 64])
def test_reader_batches_from_columns_fall_back_to_the_same_rows(size: int) -> None:
    text = b"".join(orjson.dumps(row) + b"\n" for row in churn_rows())
    fast = list(ndjson_arrow.read(io.BytesIO(text), source="s", batch_size=size))
    slow = list(ndjson.read(io.BytesIO(text), source="s", batch_size=size))
    assert [len(b) for b in fast] == [len(b) for b in slow]
    assert all(b.table is not None and b.fallback is not None for b in fast)
    for f, s in zip(fast, slow):
        assert f.fallback is not None
        assert f.fallback().records == s.records
        assert f.table is not None and f.table.to_pylist() == s.records


def test_reader_takes_columns_before_arrow_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flat churn lines never reach Arrow's JSON reader. After a batch the column parser refuses, the next
    `_Tries.SKIP` batches go straight to Arrow's JSON reader, then the column parser is tried again."""
    calls: list[str] = []
    parse, parse_objects = ndjson_arrow._parse, json_columns.parse_objects
    monkeypatch.setattr(ndjson_arrow, "_parse", lambda text: calls.append("arrow") or parse(text))
    monkeypatch.setattr(json_columns, "parse_objects",
                        lambda text, lines: calls.append("columns") or parse_objects(text, lines))
    text = b"".join(orjson.dumps(row) + b"\n" for row in churn_rows())  # 40 lines
    batches = list(ndjson_arrow.read(io.BytesIO(text), source="s", batch_size=10))
    assert all(b.table is not None for b in batches) and calls == ["columns"] * 4
    calls.clear()
    nested = text.replace(b'"Age":42,', b'"Age":42,"tags":[1,2],', 1)  # in the first batch only
    skip = ndjson_arrow._Tries.SKIP
    batches = list(ndjson_arrow.read(io.BytesIO(nested + text + text), source="s", batch_size=10))
    assert all(b.table is not None for b in batches) and len(batches) == 12
    assert calls == ["columns", "arrow"] + ["arrow"] * skip + ["columns"] * (11 - skip)
