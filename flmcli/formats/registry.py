"""One record per format: everything flm knows about a format besides its reader and writer. Stdlib only.

Adding a format is one new module (`read`, `encode`, `write`; see `FormatModule`) and one `Format` here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from flmcli.batch import Batch, Scored

# True: every input field; a list: only those fields.
KeepInput = bool | list[str]


@dataclass(frozen=True, slots=True)
class Format:
    name: str  # the CLI choice, the registry key, the test id
    module: str  # imported on first use: `flm --help` must not load pyarrow
    extensions: tuple[str, ...]  # lowercase, with the dot; the first is what outputs are named with
    media_types: tuple[str, ...]  # request bodies read as this format
    response_type: str  # the Content-Type of a response in this format
    batch_size: int  # rows per model call by default (see the note above FORMATS)
    binary: bool = False  # never written to a terminal; becomes NDJSON on stdout unless asked for
    magic: tuple[bytes, ...] = ()  # first bytes that identify the format whatever the file is called
    # The reader needs a seekable file (a footer, an index): always, or only when the input opens with these bytes.
    needs_seek: bool = False
    seek_magic: bytes = b""
    # Values have no types (CSV): the reader infers them, and takes `as_text` for the columns to read as text.
    untyped: bool = False

    def seekable_needed(self, head: bytes) -> bool:
        return self.needs_seek or bool(self.seek_magic and head.startswith(self.seek_magic))


# Rows per model call, measured with bench/bench_predict.py on the churn pipeline: a scikit-learn Pipeline
# pays ~20 ms per call whatever the size, so 2048-row batches ran at 1/3 of whole-frame speed; 16k rows of
# decoded JSON (Python objects) stay ~30 MiB, typed columnar batches are far cheaper per row. Live pipes
# are unaffected: a partial batch is scored after --max-delay.
_ROWS = 16384
_COLUMNAR = 65536

FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format("json", "flmcli.formats.json_array", (".json",), ("application/json",), "application/json", _ROWS),
        Format(
            "ndjson",
            "flmcli.formats.ndjson",
            (".ndjson", ".jsonl"),
            ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines"),
            "application/x-ndjson",
            _ROWS,
        ),
        Format("csv", "flmcli.formats.csv_format", (".csv",), ("text/csv",), "text/csv; charset=utf-8", _COLUMNAR,
               untyped=True),
        Format(
            "tsv",
            "flmcli.formats.tsv_format",
            (".tsv",),
            ("text/tab-separated-values",),
            "text/tab-separated-values; charset=utf-8",
            _COLUMNAR,
            untyped=True,
        ),
        Format(
            "parquet",
            "flmcli.formats.parquet_format",
            (".parquet", ".pq"),
            ("application/vnd.apache.parquet", "application/x-parquet"),
            "application/vnd.apache.parquet",
            _COLUMNAR,
            binary=True,
            magic=(b"PAR1",),
            needs_seek=True,
        ),
        Format(
            "arrow",
            "flmcli.formats.arrow_format",
            (".arrow", ".arrows", ".feather", ".ipc"),
            ("application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file"),
            "application/vnd.apache.arrow.stream",
            _COLUMNAR,
            binary=True,
            # The file format ("ARROW1") keeps an index at its end; the IPC stream (continuation marker) needs nothing.
            magic=(b"ARROW1", b"\xff\xff\xff\xff"),
            seek_magic=b"ARROW1",
        ),
    )
}

FORMAT_NAMES: tuple[str, ...] = tuple(FORMATS)
# What a binary format becomes when it goes to a pipe or terminal without --to.
STREAM_FALLBACK = "ndjson"
EXTENSIONS: dict[str, str] = {ext: fmt.name for fmt in FORMATS.values() for ext in fmt.extensions}
MEDIA_TYPES: dict[str, str] = {media: fmt.name for fmt in FORMATS.values() for media in fmt.media_types}


# Given a CSV header's names, those read as text whatever their values look like (features.read_as_text).
AsText = Callable[[list[str]], Collection[str]]


class Read(Protocol):
    def __call__(
        self, fp: BinaryIO, *, source: str, batch_size: int, max_delay: float | None = None
    ) -> Iterator[Batch]: ...


class Encode(Protocol):
    def __call__(self, scored: Iterable[Scored], *, keep_input: KeepInput = False) -> Iterator[bytes]: ...


class Write(Protocol):
    def __call__(self, scored: Iterable[Scored], out: BinaryIO, *, keep_input: KeepInput = False) -> int: ...


class FormatModule(Protocol):
    """What a format's module provides (`flmcli.formats.ndjson` is the smallest example).

    `read` yields batches of at most `batch_size` rows, a partial one after `max_delay` seconds of quiet live
    input (None: never); `encode` yields each scored batch's bytes as it comes (the first may carry a header,
    the last a footer); `write` writes and flushes them to `out` and returns the rows written.
    """

    read: Read
    encode: Encode
    write: Write
