"""Live CSV (a pipe): the header is the first non-empty line, taken once its line end has come. A producer that
wrote the header in two parts, or began with an empty line, made the next read's first row a second header
("unexpected ArrowInvalid: Can't unify schema with duplicate field names", exit 1, the rows never scored)."""

from __future__ import annotations

import pytest

from flmcli.formats import csv_live

HEADER = b"x,y,name"
ROWS = [b"1,2.5,a", b"3,4.5,b", b"5,6.5,c", b"7,8.5,d"]


class Pieces:
    """The reads a pipe would give, one piece each (live, so the reader flushes on pauses)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = list(pieces)
        self.live = True

    def read(self) -> bytes:
        return self._pieces.pop(0) if self._pieces else b""

    def ready(self, timeout: float) -> bool:
        return True  # more is always on its way: batches go when full or at the end


def _rows(pieces: list[bytes]) -> list[dict[str, object]]:
    batches = csv_live.read(Pieces(pieces), source="<stdin>", batch_size=2, max_delay=0.05,  # type: ignore[arg-type]
                            delimiter=",")
    return [row for batch in batches for row in batch.table.to_pylist()]  # type: ignore[union-attr]


EXPECTED = [{"x": 1, "y": 2.5, "name": "a"}, {"x": 3, "y": 4.5, "name": "b"}, {"x": 5, "y": 6.5, "name": "c"},
            {"x": 7, "y": 8.5, "name": "d"}]


@pytest.mark.parametrize("pieces", [
    [b"x,y", b",name\n1,2.5,a\n", b"3,4.5,b\n5,6.5,c\n", b"7,8.5,d\n"],
    [b"x", b",", b"y,name", b"\n1,2.5,a\n3,4.5,b\n", b"5,6.5,c\n7,8.5,d"],
    [b"\n", b"x,y,name\n1,2.5,a\n", b"3,4.5,b\n5,6.5,c\n7,8.5,d\n"],
    [b"\r\n\n", b"x,y,name\r\n1,2.5,a\r\n3,4.5,b\r\n", b"5,6.5,c\r\n7,8.5,d\r\n"],
    [b"\nx,y,name\n1,2.5,a\n", b"3,4.5,b\n", b"5,6.5,c\n", b"7,8.5,d\n"],
], ids=["header-in-two", "header-in-three", "empty-line-first", "crlf-empty-lines-first", "empty-line-same-read"])
def test_every_row_is_read_whatever_the_pieces(pieces: list[bytes]) -> None:
    assert _rows(pieces) == EXPECTED


def test_the_whole_input_at_once_reads_the_same() -> None:
    assert _rows([HEADER + b"\n" + b"\n".join(ROWS) + b"\n"]) == EXPECTED
