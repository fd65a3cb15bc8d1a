"""Input and output formats of `flm predict` and `flm serve`: detection, readers, writers.

Stdlib only at import: `flm --help` imports this module. Each format lives in its
own module, loaded on first use, exposing `read`, `write` and `encode`.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

from flmcli.errors import InputError

if TYPE_CHECKING:
    from flmcli.batch import Batch

FORMAT_NAMES: tuple[str, ...] = ("json", "ndjson", "csv", "tsv", "parquet", "arrow")

_MODULES: dict[str, str] = {
    "json": "flmcli.formats.json_array",
    "ndjson": "flmcli.formats.ndjson",
    "csv": "flmcli.formats.csv_format",
    "tsv": "flmcli.formats.tsv_format",
    "parquet": "flmcli.formats.parquet_format",
    "arrow": "flmcli.formats.arrow_format",
}

EXTENSIONS: dict[str, str] = {
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".arrows": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}

# The extension written for each format (first listed wins for directories of outputs).
_CANONICAL_EXTENSION: dict[str, str] = {"json": ".json", "ndjson": ".ndjson", "csv": ".csv", "tsv": ".tsv",
                                        "parquet": ".parquet", "arrow": ".arrow"}

# Enough to see a JSON first line or a CSV header; a BufferedReader peeks at most its buffer.
HEAD_SIZE = 1 << 16

Reader = Callable[..., Iterator["Batch"]]
Writer = Callable[..., int]
Encoder = Callable[..., Iterator[bytes]]

from flmcli.formats.detection import detect, format_for_path  # noqa: E402


def extension(fmt: str) -> str:
    """The file extension for a format's output, e.g. ".parquet"."""
    return _CANONICAL_EXTENSION[fmt]


def for_path(path: str | None) -> str | None:
    """The format a file name implies, or None (same as `format_for_path`)."""
    return format_for_path(path)


def _module(fmt: str) -> Any:
    try:
        return importlib.import_module(_MODULES[fmt])
    except KeyError:
        raise InputError(f"unknown format {fmt!r} (choose from {', '.join(FORMAT_NAMES)})") from None


def reader(fmt: str) -> Reader:
    """`read(fp, *, source, batch_size, max_delay) -> Iterator[Batch]` for a format."""
    return _module(fmt).read  # type: ignore[no-any-return]


def writer(fmt: str) -> Writer:
    """`write(scored, out, *, keep_input=False, shape="default") -> rows written`."""
    return _module(fmt).write  # type: ignore[no-any-return]


def encoder(fmt: str) -> Encoder:
    """`encode(scored, *, keep_input=False, shape="default") -> Iterator[bytes]`, one chunk per batch."""
    return _module(fmt).encode  # type: ignore[no-any-return]


def _needs_seek(fmt: str, head: bytes) -> bool:
    # Parquet keeps its schema in the footer, the Arrow file format its index; the IPC stream needs nothing.
    return fmt == "parquet" or (fmt == "arrow" and head.startswith(b"ARROW1"))


@contextmanager
def open_input(path_or_dash: str | None, explicit_fmt: str | None = None) -> Iterator[tuple[str, BinaryIO, str]]:
    """Open a path or `-` (stdin) and yield (format, binary file object, display name).

    Stdin is never read ahead for detection beyond what `peek` already has, so
    `tail -f events.ndjson | flm predict` starts scoring as soon as a row arrives.
    """
    if path_or_dash in (None, "-"):
        stdin = sys.stdin.buffer
        head = b"" if explicit_fmt else _peek(stdin)
        fmt = detect(None, head, explicit_fmt)
        if fmt == "arrow" and not head:
            head = _peek(stdin)
        if not _needs_seek(fmt, head):
            yield fmt, stdin, "<stdin>"
            return
        with tempfile.TemporaryFile(prefix="flm-stdin-") as spool:
            shutil.copyfileobj(stdin, spool, 1 << 20)
            spool.seek(0)
            yield fmt, spool, "<stdin>"
        return
    path = os.fspath(path_or_dash)
    try:
        fp = open(path, "rb", buffering=HEAD_SIZE)
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", source=path) from None
    with fp:
        named = explicit_fmt or format_for_path(path)
        yield (named if named is not None else detect(path, _peek(fp), None)), fp, path


def _peek(fp: BinaryIO) -> bytes:
    peek = getattr(fp, "peek", None)
    if peek is None:  # unbuffered or in-memory: callers pass buffered objects in practice
        return b""
    return bytes(peek(HEAD_SIZE)[:HEAD_SIZE])


__all__ = [
    "EXTENSIONS",
    "FORMAT_NAMES",
    "detect",
    "encoder",
    "extension",
    "for_path",
    "format_for_path",
    "open_input",
    "reader",
    "writer",
]
