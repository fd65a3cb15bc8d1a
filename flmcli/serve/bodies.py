"""Request bodies into batches, and scored batches into response bytes, through flm's own formats.

JSON bodies are Flama's `{"input": [...]}` envelope; the rows inside are the same records the JSON reader
yields. Every other body is read by the format's reader, and every response is written by the format's
encoder, so HTTP answers carry the bytes `flm predict` writes for the same rows.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ..batch import Batch, Scored
from ..errors import InputError
from ..formats import envelope, json_keys
from ..formats.registry import FORMATS, AsText
from ..options import named_twice, names

_KEY = f'"{envelope.KEY}"'.encode()

# The source name in error messages: `input:3: field 'Age': ...` is row 3 of the request's rows.
SOURCE = "input"


def json_batches(body: bytes, batch_size: int) -> list[Batch]:
    """Flama's envelope `{"input": [row, ...]}` (or a bare `[row, ...]`), read by the JSON reader."""
    batches = plain_json_batches(body, batch_size)
    if batches is not None:
        return batches
    if not body.strip():
        raise InputError(f"empty body; {envelope.USAGE}", source="body")
    batches = read_batches("json", body, batch_size)
    if not batches:
        # The reader found no rows: say why, if the envelope itself is wrong.
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise InputError(f"malformed JSON: {error}", source="body") from None
        problem = envelope.problem(document)
        if problem is not None:
            raise problem
        batches = [Batch(source=SOURCE, records=[])]
    return batches


def plain_json_batches(body: bytes, batch_size: int) -> list[Batch] | None:
    """What most bodies are, `{"input": [row, ...]}` with array or object rows, parsed in one orjson call: the
    batches the JSON reader makes of it (the same records, row numbers and batch cuts). None for anything else (no
    rows, a bad row, a syntax error, another key, a key twice): the reader reads those and names what is wrong.
    The key may be counted twice where a string holds it: that body is then simply left to the reader."""
    if body.count(_KEY) != 1:
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict or len(document) != 1:
        return None
    rows = document.get(envelope.KEY)
    if type(rows) is not list or not rows:
        return None
    for row in rows:
        if row.__class__ is not list and row.__class__ is not dict:
            return None  # the reader keeps it as a bad row, in place
    if json_keys.suspect(body, rows, other_keys=1):  # the envelope's "input"
        return None  # maybe a key twice in a row: the reader names it
    if len(rows) <= batch_size:
        return [Batch(source=SOURCE, records=rows)]
    return records_batches(rows, batch_size)


def check_body(fmt: str, body: bytes) -> None:
    """400 for an empty body, or one whose first bytes are plainly not the format its Content-Type names."""
    text = body[:64].removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise InputError("empty body; send rows (see /docs/)", source="body")
    # The binary formats' magic bytes, from their registry records (the same ones `flm predict` detects by).
    columnar = next((f.name for f in FORMATS.values() if f.magic and body.startswith(f.magic)), None)
    looks = columnar or ("JSON" if text[:1] in b"[{" else None)
    if FORMATS[fmt].binary:
        if looks != fmt:
            raise InputError(f"the body is not {fmt} (Content-Type says it is)", source="body", field="Content-Type")
    elif columnar or (fmt in ("csv", "tsv") and looks == "JSON"):
        raise InputError(f"the body is {looks} but Content-Type says {fmt}", source="body", field="Content-Type")


def records_batches(rows: list[Any], batch_size: int) -> list[Batch]:
    size = max(1, batch_size)
    if not rows:
        return [Batch(source=SOURCE, records=[])]
    return [
        Batch(source=SOURCE, records=rows[start : start + size], first_row=start + 1)
        for start in range(0, len(rows), size)
    ]


def read_batches(fmt: str, body: bytes, batch_size: int, limit: int = 0, as_text: AsText | None = None) -> list[Batch]:
    """Any other format, read by the reader `flm predict` uses.

    A columnar body is bounded by what it decodes to, not by its size on the wire: its uncompressed bytes
    count against `limit` (the body limit), and so do its values (rows x columns), since a text body of
    `limit` bytes cannot hold more. Beyond either it is 413: from the Parquet footer before reading, and
    batch by batch as the rows are decoded (a dictionary page can stand for far more than its size).
    """
    from .. import formats

    if limit > 0 and fmt == "parquet":
        _check_parquet(body, limit)
    if limit > 0 and fmt == "arrow":
        from ..formats.arrow_limits import declared

        # from the metadata, before pyarrow allocates what a compressed buffer says it inflates to
        found = declared(body, source=SOURCE)
        _check_decoded("Arrow", found.size, found.values, limit)
    read = formats.reader(fmt, as_text)
    batches = read(io.BytesIO(body), source=SOURCE, batch_size=max(1, batch_size), max_delay=None)
    if limit <= 0 or not formats.get(fmt).binary:  # text cannot decode to more than its size
        return list(batches)
    out: list[Batch] = []
    size = values = 0
    for batch in batches:
        assert batch.table is not None
        size += batch.table.nbytes
        values += batch.table.num_rows * max(1, batch.table.num_columns)
        _check_decoded(fmt.capitalize(), size, values, limit)
        out.append(batch)
    return out


def _check_parquet(body: bytes, limit: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(pa.BufferReader(body)).metadata
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"cannot read Parquet: {str(error).splitlines()[0]}", source=SOURCE) from None
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    _check_decoded("Parquet", size, meta.num_rows * max(1, meta.num_columns), limit)


def _check_decoded(kind: str, size: int, values: int, limit: int) -> None:
    from .errors import PayloadTooLarge

    if size > limit:
        raise PayloadTooLarge(f"the {kind} body decodes to more than the limit of {limit} bytes", source="body")
    if values > limit:
        raise PayloadTooLarge(f"the {kind} body holds {values} values, more than the limit of {limit} bytes could "
                              "carry as text", source="body")


def encode(fmt: str, scored: Iterable[Scored], keep_input: bool | list[str] = False) -> Iterator[bytes]:
    """The response bytes, from the format's own encoder."""
    from .. import formats

    return formats.encoder(fmt)(iter(scored), keep_input=keep_input)


def flama_json(scored: Iterable[Scored], keep_input: bool | list[str] = False) -> Iterator[bytes]:
    """Flama's `{"output": [...]}`: the JSON writer's array, in the envelope Flama answers with."""
    yield b'{"output":'
    yield from encode("json", scored, keep_input)
    yield b"}"


def check_query(pairs: Iterable[tuple[str, str]], route_method: str | None) -> None:
    """400 for a query parameter the route does not take, or one given twice: `?features=`, `?output_name=` or a
    typo such as `?keep-input=true` was silently ignored, and the answer was not the one asked for. A per-method
    route (`/predict_proba/`) takes no `method`, as its schema says."""
    taken = ("keep_input", "keep") if route_method is not None else ("method", "keep_input", "keep")
    seen: set[str] = set()
    for name, _ in pairs:
        if name not in taken:
            raise InputError(f"unknown parameter; this route takes {', '.join(taken)}", source="query",
                             field=name[:40])
        if name in seen:
            raise InputError("given twice", source="query", field=name)
        seen.add(name)


def keep_option(keep_input: str | None, keep: str | None) -> bool | list[str]:
    """`?keep_input=true` keeps every input field; `?keep=a,b` keeps those fields."""
    if keep:
        twice = named_twice(keep)
        if twice is not None:
            raise InputError(f"{twice!r} is named twice", source="query", field="keep")
        return list(names(keep) or ())
    if keep_input is None:
        return False
    value = keep_input.strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise InputError(f"expected true or false, got {keep_input!r}", source="query", field="keep_input")
