"""Input and output formats of `flm predict` and `flm serve`: detection, readers, writers.

Stdlib only at import: `flm --help` imports this module. Each format lives in its own module, loaded on
first use, exposing `read`, `write` and `encode` (`FormatModule`), and has one `Format` record in
`registry.py`: adding a format is that module plus that record.
"""

from __future__ import annotations

import functools
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, NamedTuple

from flmcli.errors import InputError
from flmcli.formats.detection import detect, format_for_path, refuse_compressed
from flmcli.formats.registry import (
    EXTENSIONS,
    FORMAT_NAMES,
    FORMATS,
    MEDIA_TYPES,
    STREAM_FALLBACK,
    AsText,
    Encode,
    Format,
    FormatModule,
    KeepInput,
    Read,
    Write,
)

# Enough to see a JSON first line or a CSV header; a BufferedReader peeks at most its buffer.
HEAD_SIZE = 1 << 16


def get(name: str) -> Format:
    """The record of a format by name; InputError naming the choices for an unknown one."""
    try:
        return FORMATS[name]
    except KeyError:
        raise InputError(f"unknown format {name!r} (choose from {', '.join(FORMAT_NAMES)})") from None


def extension(fmt: str) -> str:
    """The file extension for a format's output, e.g. ".parquet"."""
    return get(fmt).extensions[0]


def module(fmt: str) -> FormatModule:
    """A format's module, imported on first use."""
    loaded: FormatModule = importlib.import_module(get(fmt).module)
    return loaded


def reader(fmt: str, as_text: AsText | None = None) -> Read:
    """`read(fp, *, source, batch_size, max_delay) -> Iterator[Batch]` for a format; for a format without types
    (CSV), `as_text(header)` names the columns read as text (features.read_as_text)."""
    read: Any = module(fmt).read
    if as_text is not None and get(fmt).untyped:
        return functools.partial(read, as_text=as_text)
    return read  # type: ignore[no-any-return]


def writer(fmt: str) -> Write:
    """`write(scored, out, *, keep_input=False) -> rows written`."""
    return module(fmt).write


def encoder(fmt: str) -> Encode:
    """`encode(scored, *, keep_input=False) -> Iterator[bytes]`, one chunk per batch."""
    return module(fmt).encode


class Input(NamedTuple):
    """An opened input: its format, its binary file object, and its name in messages."""

    fmt: str
    fp: BinaryIO
    name: str


@contextmanager
def open_input(
    path_or_dash: str | None, explicit_fmt: str | None = None, stdin: BinaryIO | None = None
) -> Iterator[Input]:
    """Open a path or `-` (`stdin`, default the process's) and yield it as an `Input`.

    Stdin is never read ahead for detection beyond what `peek` already has, so
    `tail -f events.ndjson | flm predict` starts scoring as soon as a row arrives.
    """
    if path_or_dash in (None, "-"):
        stdin = stdin if stdin is not None else sys.stdin.buffer
        head = b"" if explicit_fmt else _peek(stdin)
        fmt = detect(None, head, explicit_fmt)
        if get(fmt).seek_magic and not head:
            head = _peek(stdin)
        if not get(fmt).seekable_needed(head):
            yield Input(fmt, stdin, "<stdin>")
            return
        with tempfile.TemporaryFile(prefix="flm-stdin-") as spool:
            shutil.copyfileobj(stdin, spool, 1 << 20)
            spool.seek(0)
            yield Input(fmt, spool, "<stdin>")
        return
    path = os.fspath(path_or_dash)
    try:
        fp = open(path, "rb", buffering=HEAD_SIZE)
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", source=path) from None
    with fp:
        fmt = explicit_fmt or format_for_path(path) or detect(path, _peek(fp), None)
        if not get(fmt).binary:
            refuse_compressed(_peek(fp), path)
        if fp.seekable() or not get(fmt).seekable_needed(_peek(fp)):
            yield Input(fmt, fp, path)
            return
        # A FIFO or bash's <(...): spooled as stdin is, since the reader needs to seek.
        with tempfile.TemporaryFile(prefix="flm-input-") as spool:
            shutil.copyfileobj(fp, spool, 1 << 20)
            spool.seek(0)
            yield Input(fmt, spool, path)


def size(fp: BinaryIO) -> int | None:
    """The size of a regular file behind `fp`, else None."""
    try:
        return os.fstat(fp.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        return None


def _peek(fp: BinaryIO) -> bytes:
    peek = getattr(fp, "peek", None)
    if peek is None:  # unbuffered or in-memory: callers pass buffered objects in practice
        return b""
    return bytes(peek(HEAD_SIZE)[:HEAD_SIZE])


__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "FORMAT_NAMES",
    "MEDIA_TYPES",
    "STREAM_FALLBACK",
    "Format",
    "FormatModule",
    "Input",
    "KeepInput",
    "detect",
    "encoder",
    "extension",
    "format_for_path",
    "get",
    "module",
    "open_input",
    "reader",
    "size",
    "writer",
]
