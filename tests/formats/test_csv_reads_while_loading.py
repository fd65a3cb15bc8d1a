"""While the model that says which CSV columns are text loads, the reader reads on with the types it inferred
(csv_format.SPECULATE). What it hands over must be what it reads once the model has answered: a column the model
wants as text read again as text from the first row (leading zeros kept), from a file (seeking back) and from a
stream that cannot seek (the text kept); a value that fails as a number but not as text is no error; a bad row
is still named, after the rows before it."""

from __future__ import annotations

import io
from collections.abc import Collection

import pyarrow as pa
import pytest

from flmcli.formats import csv_format

ROWS = 600_000  # ~5.5 MiB: past the first 4 MiB block, as speculation needs


class Later:
    """An `as_text` whose answer is known only after `after` looks: the reader reads on meanwhile."""

    def __init__(self, text: Collection[str], after: int) -> None:
        self.text = frozenset(text)
        self.after = after
        self.looks = 0

    def known(self) -> bool:
        self.looks += 1
        return self.looks > self.after

    def __call__(self, header: list[str]) -> frozenset[str]:
        return frozenset(name for name in self.text if name in header)


class Stream(io.RawIOBase):
    """Bytes that cannot be sought back: a pipe, as the reader sees it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def codes_csv(bad_at: int | None = None, bad: str = "0213X", column: str = "code") -> bytes:
    rows = [f"{'0' if i % 3 == 0 else ''}{2100 + i % 50},{i % 7}.5" for i in range(ROWS)]
    if bad_at is not None:
        code, x = rows[bad_at].split(",")
        rows[bad_at] = f"{bad},{x}" if column == "code" else f"{code},{bad}"
    return ("code,x\n" + "\n".join(rows) + "\n").encode()


def read_all(data: bytes, as_text: object, *, seekable: bool = True) -> tuple[list[pa.Table], list[range]]:
    fp = io.BufferedReader(Stream(data)) if not seekable else io.BytesIO(data)
    tables, lines = [], []
    for batch in csv_format.read(fp, source="in.csv", batch_size=65536, as_text=as_text):  # type: ignore[arg-type]
        assert batch.table is not None
        tables.append(batch.table)
        lines.append(batch.lines)
    return tables, lines


def plain(text: Collection[str]) -> object:
    return lambda header: frozenset(name for name in text if name in header)


def same(got: tuple[list[pa.Table], list[range]], want: tuple[list[pa.Table], list[range]]) -> None:
    assert got[1] == want[1]
    assert pa.concat_tables(got[0]).equals(pa.concat_tables(want[0]))


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "stream"])
@pytest.mark.parametrize("after", [1, 3, 50], ids=["one-batch", "three", "to-the-end"])
def test_a_column_the_model_wants_as_text_is_read_again_as_text(seekable: bool, after: int) -> None:
    data = codes_csv()
    later = Later({"code"}, after)
    got = read_all(data, later, seekable=seekable)
    want = read_all(data, plain({"code"}))
    same(got, want)
    code = pa.concat_tables(got[0]).column("code")
    assert code.type == pa.string()
    assert code[0].as_py() == "02100"  # the leading zero: read as text from the first row on
    assert later.looks > 1  # it did read on before the answer (the first look said "not known")
    # ...and without the model's answer those codes are numbers: what was read meanwhile was read again
    assert pa.types.is_integer(pa.concat_tables(read_all(data, plain(()))[0]).column("code").type)


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "stream"])
def test_no_column_wanted_as_text_goes_on_with_what_was_read(seekable: bool, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    detached: list[int] = []
    detach = csv_format._ShortReads.detach

    def spy(self: csv_format._ShortReads) -> list[bytes]:
        detached.append(1)
        return detach(self)

    monkeypatch.setattr(csv_format._ShortReads, "detach", spy)
    data = codes_csv()
    got = read_all(data, Later((), 3), seekable=seekable)
    same(got, read_all(data, plain(())))
    assert detached == []
    # a column already read as text is not read again either
    text = b"name,x\n" + b"".join(b"n%d,1\n" % i for i in range(ROWS))
    same(read_all(text, Later({"name"}, 3), seekable=seekable), read_all(text, plain({"name"})))
    assert detached == []


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "stream"])
def test_a_value_that_fails_only_as_a_number_is_no_error_once_read_as_text(seekable: bool) -> None:
    data = codes_csv(bad_at=ROWS - 10)  # "0213X" where numbers were inferred: its block is read again as text
    tables = read_all(data, plain(()))[0]
    assert pa.types.is_integer(tables[0].column("code").type) and pa.types.is_string(tables[-1].column("code").type)
    got = read_all(data, Later({"code"}, 100), seekable=seekable)  # read on to the bad value before the answer
    same(got, read_all(data, plain({"code"})))
    assert pa.concat_tables(got[0]).column("code")[ROWS - 10].as_py() == "0213X"


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "stream"])
def test_a_bad_value_read_on_is_read_again_as_text_after_the_rows_before_it(seekable: bool) -> None:
    data = codes_csv(bad_at=550_000, bad="abc", column="x")  # past the first block, whose types are inferred

    def rows(as_text: object) -> tuple[int, list[object]]:
        tables = read_all(data, as_text, seekable=seekable)[0]
        values = [value for table in tables for value in table.column("x").to_pylist()]
        return len(values), [values[550_000]]

    want = rows(plain(()))
    assert want == (ROWS, ["abc"])  # the model then decides what 'abc' is (--on-error)
    assert rows(Later((), 100)) == want
    assert rows(Later({"code"}, 100)) == want  # read again as text from the start: the same rows
