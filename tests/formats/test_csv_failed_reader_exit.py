"""A CSV reader that fails after its reads reached the end of the input (a short Latin-1 row in a file of one
block, which pyarrow refuses as it opens; a NUL byte in a later row) keeps the input in csv_format.READING while
anything holds it, so that the process leaves without finalizing (cli._exit): the error's traceback holds the
reader and pyarrow's file around the input, and freeing them while the interpreter finalized aborted about one run
in 40 of tests/formats/test_csv_undecodable_rows.py ("terminate called without an active exception", exit -6).
An input read to its end and let go leaves READING, so a run that read its CSV finalizes as before."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest

import flmcli.formats.csv_format as csv_format
from flmcli.errors import InputError

HEADER = b"RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age\n"
ROW = b"1,15634602,Hargrave,619,France,Female,42\n"


def _read_until_failure(text: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, bool]:
    """Read `text` as CSV until it fails; the input (csv_format._ShortReads) and whether it is in READING once
    pyarrow's thread has read to its end."""
    made: list[Any] = []
    ended = threading.Event()
    init, read = csv_format._ShortReads.__init__, csv_format._ShortReads.read

    def recorded_init(self: Any, fp: Any) -> None:
        init(self, fp)
        made.append(self)

    def recorded_read(self: Any, size: int = -1) -> bytes:
        data = read(self, size)
        if not data and size:
            ended.set()
        return data

    monkeypatch.setattr(csv_format._ShortReads, "__init__", recorded_init)
    monkeypatch.setattr(csv_format._ShortReads, "read", recorded_read)
    with pytest.raises(InputError) as failed:
        list(csv_format.read(io.BufferedReader(io.BytesIO(text)), source="rows.csv", batch_size=100))  # type: ignore[arg-type]
    # pyarrow reads ahead on its own thread: wait for its read at the end of the input, which is what let the input
    # leave READING.
    assert ended.wait(10)
    time.sleep(0.05)
    assert len(made) == 1
    reads = made[0]
    still = reads in csv_format.READING
    del failed
    return reads, still


def test_a_reader_that_failed_as_it_opened_keeps_its_input_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    text = HEADER + ROW * 3 + b"1,2,H\xe9llo\n" + ROW  # short, and not UTF-8: pyarrow fails the open
    _, still = _read_until_failure(text, monkeypatch)
    assert still


def test_a_reader_that_failed_on_a_row_keeps_its_input_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    text = HEADER + ROW * 3 + b"1,15634602,Harg\0rave,619,France,Female,42\n" + ROW  # a NUL byte past the head
    text = HEADER + ROW * (70_000 // len(ROW)) + text[len(HEADER):]
    _, still = _read_until_failure(text, monkeypatch)
    assert still


def test_a_reader_read_to_its_end_lets_its_input_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a failed reader's input stays: one read to its end and let go leaves READING (else every run would
    leave without finalizing, its atexit handlers not run)."""
    import gc
    import weakref

    made: list[weakref.ref[Any]] = []
    init = csv_format._ShortReads.__init__

    def recorded_init(self: Any, fp: Any) -> None:
        init(self, fp)
        made.append(weakref.ref(self))

    monkeypatch.setattr(csv_format._ShortReads, "__init__", recorded_init)
    batches = list(csv_format.read(io.BufferedReader(io.BytesIO(HEADER + ROW * 5)),  # type: ignore[arg-type]
                                   source="rows.csv", batch_size=100))
    assert sum(len(batch) for batch in batches) == 5
    del batches
    for _ in range(100):  # pyarrow's thread lets go of the input once it has read its end
        gc.collect()
        if not any(ref() is not None and ref() in csv_format.READING for ref in made):
            break
        time.sleep(0.05)
    assert made and not any(ref() is not None and ref() in csv_format.READING for ref in made)
