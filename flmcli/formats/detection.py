"""Guess an input's format from its name or its first bytes. Stdlib only."""

from __future__ import annotations

import json
import os

from flmcli.errors import InputError
from flmcli.formats import envelope
from flmcli.formats.registry import EXTENSIONS, FORMAT_NAMES, FORMATS


def format_for_path(path: str | None) -> str | None:
    """The format a file name implies, or None."""
    if not path or path == "-":
        return None
    return EXTENSIONS.get(os.path.splitext(path)[1].lower())


def detect(path: str | None, head: bytes, explicit: str | None) -> str:
    """The format of an input: explicit choice, then file extension, then first bytes."""
    if explicit:
        if explicit not in FORMAT_NAMES:
            raise InputError(f"unknown format {explicit!r} (choose from {', '.join(FORMAT_NAMES)})")
        return explicit
    by_name = format_for_path(path)
    if by_name:
        return by_name
    for fmt in FORMATS.values():
        if fmt.magic and head.startswith(fmt.magic):
            return fmt.name
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        return "ndjson"  # empty input: zero rows whatever the format
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        return _object_format(text)
    if _is_text(head):
        first_line = text.split(b"\n", 1)[0]
        return "tsv" if b"\t" in first_line else "csv"
    raise InputError(
        "cannot detect the input format (binary data that is not Parquet or Arrow)",
        source=path or "<stdin>",
        hint="use --from " + "|".join(FORMAT_NAMES),
    )


def _object_format(text: bytes) -> str:
    first, newline, rest = text.partition(b"\n")
    try:
        value = json.loads(first)
    except ValueError:
        # Incomplete first line: a pretty-printed object (Flama's body if it opens with "input") or a long NDJSON row.
        return "json" if envelope.OPENING.match(text) else "ndjson"
    if newline and rest.strip():
        return "ndjson"
    return "json" if envelope.is_envelope(value) else "ndjson"


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the peeked window is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True
