"""NDJSON: one line may hold at most MAX_LINE bytes, in both readers, whatever pieces it arrives in; the line over
it is named."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from flmcli.batch import Batch
from flmcli.errors import InputError
from flmcli.formats import ndjson, ndjson_arrow
from tests.formats.test_long_lines import Trickle
from tests.helpers import CHURN, invoke

ROW = b'{"a": 1, "b": "x"}\n'
READERS: dict[str, Callable[..., Iterator[Batch]]] = {"ndjson": ndjson.read, "ndjson_arrow": ndjson_arrow.read}


def _rows(reader: str, data: bytes, piece: int, batch_size: int = 2) -> int:
    return sum(len(b) for b in READERS[reader](Trickle(data, piece), source="in.ndjson", batch_size=batch_size))


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("piece", [7, 100, 1 << 16])
@pytest.mark.parametrize(("before", "newline"), [(0, True), (5, True), (5, False), (1, False)])
def test_the_line_over_the_limit_is_named(
    monkeypatch: pytest.MonkeyPatch, reader: str, piece: int, before: int, newline: bool
) -> None:
    monkeypatch.setattr(ndjson, "MAX_LINE", 300)
    long = b'{"a": 1, "b": "' + b"y" * 400 + b'"}' + (b"\n" if newline else b"")
    data = ROW * before + long + ROW * 3
    with pytest.raises(InputError) as caught:
        _rows(reader, data, piece)
    assert caught.value.line == before + 1
    assert str(caught.value) == f"in.ndjson:{before + 1}: a line longer than 0 MiB; a row may be at most that"


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("piece", [7, 1 << 16])
def test_lines_up_to_the_limit_are_read(monkeypatch: pytest.MonkeyPatch, reader: str, piece: int) -> None:
    monkeypatch.setattr(ndjson, "MAX_LINE", 300)
    exact = b'{"a": 1, "b": "' + b"y" * (300 - 17) + b'"}\n'
    assert len(exact) == 301  # 300 and its line end
    assert _rows(reader, ROW * 3 + exact + ROW * 4 + exact.rstrip(b"\n"), piece) == 9


def test_flm_predict_from_an_endless_line_stops_with_one_line() -> None:
    ran = invoke("predict", CHURN, "--from", "ndjson", "/dev/zero")
    assert ran.returncode == 1, ran.stderr
    assert ran.stdout == b""
    assert ran.stderr.decode().splitlines() == [
        "Error: /dev/zero:1: a line longer than 64 MiB; a row may be at most that"
    ]
