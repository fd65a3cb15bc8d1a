"""Guess an input's format from its name or its first bytes. Stdlib only."""

from __future__ import annotations

import json
import os
import re

from flmcli.errors import InputError
from flmcli.formats import envelope
from flmcli.formats.registry import EXTENSIONS, FORMAT_NAMES, FORMATS

_COMPRESSED = ((re.compile(rb"\x1f\x8b"), "gzip"), (re.compile(rb"BZh[1-9]1AY&SY"), "bzip2"),
               (re.compile(rb"\xfd7zXZ\x00"), "xz"), (re.compile(rb"\x28\xb5\x2f\xfd"), "zstd"))
_TOOLS = {"gzip": "zcat", "bzip2": "bzcat", "xz": "xzcat", "zstd": "zstdcat"}
_JSON_SCALAR = re.compile(rb"\s*(?:-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)\s*$")


def format_for_path(path: str | None) -> str | None:
    """The format a file name implies, or None."""
    if not path or path == "-":
        return None
    return EXTENSIONS.get(os.path.splitext(path)[1].lower())


def _utf16(head: bytes) -> bool:
    """UTF-16 text: a BOM, or ASCII characters each with a NUL byte before (big-endian) or after (little)."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    pairs = head[:8]
    return len(pairs) >= 4 and (
        (pairs[0::2] == bytes(len(pairs[0::2])) and all(0 < b < 128 for b in pairs[1::2]))
        or (pairs[1::2] == bytes(len(pairs[1::2])) and all(0 < b < 128 for b in pairs[0::2])))


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
    refuse_compressed(head, path)
    if _utf16(head):
        # Said so, rather than "binary data", or an NDJSON line of invalid JSON for `[` and a NUL.
        raise InputError("cannot detect the input format: UTF-16 text (flm reads text as UTF-8)",
                         source=path or "<stdin>", hint="convert the text to UTF-8 first (iconv -f utf-16 -t utf-8)")
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        return "ndjson"  # empty input: zero rows whatever the format
    if text.startswith(b"\x1e"):
        # Read as CSV, one record was a header: "no rows", exit 0, its row lost without a word.
        raise InputError("the input is a JSON text sequence (RFC 7464: a \\x1e byte before each record), which flm "
                         "does not read", source=path or "<stdin>",
                         hint="drop the separators to make it NDJSON: tr -d '\\036' < FILE | flm predict MODEL")
    if text.startswith(b"["):
        return _array_format(text)
    if text.startswith(b"{"):
        return _object_format(text)
    if _JSON_SCALAR.match(text.split(b"\n", 1)[0]):
        return "json"  # a lone number, boolean or null is JSON that is not rows, which the JSON reader refuses
    if _is_text(head):
        first_line = text.split(b"\n", 1)[0]
        return "tsv" if b"\t" in first_line else "csv"
    raise InputError(
        "cannot detect the input format (binary data that is not Parquet or Arrow)",
        source=path or "<stdin>",
        hint="use --from " + "|".join(FORMAT_NAMES),
    )


def refuse_compressed(head: bytes, path: str | None) -> None:
    """Compressed bytes read as text would be garbage rows (or a parse error that does not say why)."""
    for magic, kind in _COMPRESSED:
        if magic.match(head):
            raise InputError(f"the input is {kind}-compressed", source=path or "<stdin>",
                             hint=f"decompress it first: {_TOOLS[kind]} FILE | flm predict MODEL --from FORMAT")


def _array_format(text: bytes) -> str:
    """A JSON array of rows, or NDJSON whose rows are arrays: told apart by the first line alone, so that a live
    `tail -f` of array rows is detected from its first row."""
    first = text.split(b"\n", 1)[0]
    try:
        value = json.loads(first)
    except (ValueError, RecursionError):
        # Incomplete first line: a pretty-printed or long array of rows, unless it opens with a plain value.
        inner = first[1:].lstrip()
        return "json" if not inner or inner[:1] in (b"[", b"{") else "ndjson"
    return "ndjson" if isinstance(value, list) and value and not any(_is_row(v) for v in value) else "json"


def _object_format(text: bytes) -> str:
    first, newline, rest = text.partition(b"\n")
    try:
        value = json.loads(first)
    except (ValueError, RecursionError):
        # Incomplete first line: a pretty-printed object (Flama's body if it opens with "input") or a long NDJSON row.
        return "json" if envelope.OPENING.match(text) else "ndjson"
    if newline and rest.strip() or not isinstance(value, dict):
        return "ndjson"
    # One object alone: Flama's body (or a document wrapping rows, which the JSON reader refuses) when a key
    # holds rows; a chained row `{"input": [1, 2], "prediction": 0}` holds plain values and is one NDJSON row.
    wraps_rows = any(isinstance(v, list) and (not v or any(_is_row(item) for item in v)) for v in value.values())
    return "json" if wraps_rows else "ndjson"


def _is_row(value: object) -> bool:
    return isinstance(value, (list, dict))


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the peeked window is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True
