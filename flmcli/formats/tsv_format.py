"""TSV: CSV with tabs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from flmcli.formats import csv_format
from flmcli.formats.records import write_chunks
from flmcli.formats.registry import AsText, KeepInput

if TYPE_CHECKING:
    from flmcli.batch import Batch, Scored


def read(
    fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None, as_text: AsText | None = None
) -> Iterator[Batch]:
    return csv_format.read(fp, source=source, batch_size=batch_size, max_delay=max_delay, delimiter="\t",
                           as_text=as_text)


def encode(scored: Iterable[Scored], *, keep_input: KeepInput = False) -> Iterator[bytes]:
    return csv_format.encode(scored, keep_input=keep_input, delimiter="\t")


def write(scored: Iterable[Scored], out: BinaryIO, *, keep_input: KeepInput = False) -> int:
    return write_chunks(encode, scored, out, keep_input=keep_input)
