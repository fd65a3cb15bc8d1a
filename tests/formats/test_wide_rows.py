"""Rows wider than json_columns.MAX_COLUMNS skip the column-at-a-time paths (a few kB and a dozen kernel calls per
column: one 20 MB row of 10M numbers took 22 GB there) and go row by row, with the same rows and messages."""

from __future__ import annotations

import io

import orjson
import pytest

from flmcli.formats import json_columns, ndjson, ndjson_arrow
from tests.helpers import CHURN, invoke


def test_array_rows_wider_than_the_limit_are_not_parsed_as_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = b"[" + b",".join(b"1" for _ in range(9)) + b"]"
    assert json_columns.parse(rows) is not None
    monkeypatch.setattr(json_columns, "MAX_COLUMNS", 8)
    assert json_columns.parse(rows) is None
    assert json_columns.parse(rows + b"," + rows) is None
    assert json_columns.parse_objects(b"{" + b",".join(b'"k%d":1' % i for i in range(9)) + b"}\n", 1) is None


def test_a_wide_array_row_is_refused_for_its_width_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_columns, "MAX_COLUMNS", 8)
    ran = invoke("predict", CHURN, input=b"[[" + b",".join(b"1" for _ in range(20)) + b"]]")
    assert ran.returncode == 1
    assert ran.stderr.decode().splitlines() == ["Error: <stdin>:1: expected 13 values, got 20"]


def test_narrow_counts_fields_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_columns, "MAX_COLUMNS", 8)
    short = b'{"a":1,"b":2}\n'
    wide = b"{" + b",".join(b'"k%d":1' % i for i in range(9)) + b"}\n"  # 9 fields
    assert ndjson_arrow._narrow(short * 20)
    assert not ndjson_arrow._narrow(short * 10 + wide + short * 10)
    assert not ndjson_arrow._narrow(short * 10 + wide.rstrip(b"\n"))  # the last line, without its end


def test_one_wide_line_among_short_ones_reads_as_the_row_by_row_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_columns, "MAX_COLUMNS", 8)
    lines = [{"a": i, "b": "x"} for i in range(30)]
    lines[17] = {**lines[17], **{f"k{i}": i for i in range(10)}}
    text = b"".join(orjson.dumps(line) + b"\n" for line in lines)

    def rows(reader: object) -> list[object]:
        out: list[object] = []
        for batch in reader(io.BufferedReader(io.BytesIO(text)), source="in", batch_size=8):  # type: ignore[operator]
            out.extend(batch.table.to_pylist() if batch.table is not None else batch.records or [])
        return out

    assert [batch.table for batch in ndjson_arrow.read(io.BufferedReader(io.BytesIO(text)), source="in",
                                                          batch_size=8)][2] is None  # lines 17-24: row by row
    assert rows(ndjson_arrow.read) == rows(ndjson.read) == lines
