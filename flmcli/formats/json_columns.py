"""Rows of JSON text as typed Arrow columns, parsed in C++: arrays of arrays (`[1,"a",2.5],[2,"b",0.5],...`) and
NDJSON objects (`{"a":1,"b":"x"}` a line).

Neither Arrow reader takes such rows as they are, so they go through Arrow's CSV reader with quoting off:
every comma splits a field and every row boundary is a line end. Each field then holds one JSON token as
written, with whatever stands before it in every row of its column (an array row's `[`, an object's
`{"key":`) and after it (`]`, `}`). Arrow's compute functions check that constant part and the token, and
convert the token, without building a Python object per value (and without holding the GIL: this runs in the
read-ahead thread while the model scores the previous batch). Arrow's JSON reader costs about 3x the CPU of
this on churn's NDJSON (bench/bench_columnar.py --only stages).

The text is taken only when every field is plainly a JSON number or string (objects: or a boolean) after the
same key in every row: a string with a backslash, a comma or a control character, a nested value, `null`, a
number JSON does not allow (`01`, `.5`, `NaN`) or one orjson would decode differently (an integer beyond 64
bits, a float that overflows), a row of another length or with other keys, whitespace other than single
spaces around values, all give None, and the caller decodes the same text another way (orjson, or Arrow's
JSON reader) as before: what a row means, and every message about a bad one, stay that path's.
Linear: a fixed number of passes over the text, each in C.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

# JSON's number grammar (RFC 8259), whole field.
_NUMBER = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$"
# An integer token a float column cannot hold exactly (2**53 has 16 digits): orjson keeps it an int, and the
# row-by-row path would not make one float column of it.
_LONG_INTEGER = r"^-?[0-9]{16,}$"
# Whether Arrow may split the CSV parse of NDJSON object lines over its own threads (bench/bench_columnar.py --only
# threads measures both).
USE_THREADS = True
# The same for array rows, off: read a batch at a time (json_array), their parse on the reader thread alone cost no
# more CPU than split over Arrow's pool, and held ~45 MiB less at peak (per-thread allocator heaps; 1M churn rows,
# interleaved runs at load ~5: RSS 380-396 vs 430-442 MiB, CPU 2.50-2.83 vs 2.70-3.11 s).
ARRAY_USE_THREADS = False
# Rows wider than this go to the row-by-row path: each column here costs a few kB and a dozen kernel calls, so one
# 20 MB row of 10M numbers took 22 GB before it was refused for its width.
MAX_COLUMNS = 4096
# Row boundaries this reader cuts at: compact (orjson, JSON.stringify) and Python's json.dumps separators.
_BOUNDARIES = (b"],[", b"], [")
# An object key with what surrounds it, as the first row writes it: `{`, spaces, the key (no escape: the text
# holds no backslash), spaces, `:`, spaces.
_KEY = re.compile(rb'(\{)? *"([^"\x00-\x1f]*)" *: *')


def parse(text: bytes) -> pa.Table | None:
    """The rows of `text`, which is `[...]` or `[...],[...],...` (rows of an array, without its brackets), as
    columns named "0", "1", ...; None unless every row is an array of plain numbers and strings, all alike."""
    if text[:1] != b"[" or text[-1:] != b"]" or b"\\" in text or b"\n" in text or b"\r" in text:
        return None
    if b"], [" not in text:
        table = _compact(text)
        if table is not None or b" " not in text:
            return table
    body = text[1:-1]
    for boundary in _BOUNDARIES:
        if boundary in body:
            body = body.replace(boundary, b"\n")
    rows = body.count(b"\n") + 1  # every line end is a row boundary: the text had none of its own
    table = _fields(body, _width(body), threads=ARRAY_USE_THREADS)
    if table is None or table.num_rows != rows:  # an empty last row, `[1],[]`, reads as no line at all
        return None
    columns = []
    for raw in table.columns:
        column = _typed(raw, b"", b"", booleans=False)
        if column is None and b" " in body:
            column = _typed(_trimmed(raw), b"", b"", booleans=False)
        if column is None:
            return None
        columns.append(column)
    return _table(columns, [str(i) for i in range(len(columns))])


def _compact(text: bytes) -> pa.Table | None:
    """`parse` for rows written `[...],[...]`: each `],[` becomes `]\\n[` in place (numpy, without the GIL,
    where bytes.replace would hold it), and each row's brackets stay with its first and last fields."""
    import pyarrow as pa

    lines, rows = _cut_rows(text)
    first = text.find(b"],[")
    width = (text[:first] if first >= 0 else text).count(b",") + 1
    table = _fields(pa.py_buffer(lines), width, threads=ARRAY_USE_THREADS)
    if table is None or table.num_rows != rows:
        return None
    columns = []
    for index, raw in enumerate(table.columns):
        column = _typed(raw, b"[" if index == 0 else b"", b"]" if index == width - 1 else b"", booleans=False)
        if column is None:
            return None
        columns.append(column)
    return _table(columns, [str(i) for i in range(width)])


def _cut_rows(text: bytes) -> tuple[np.ndarray, int]:
    """A copy of `text` with the comma of every `],[` made a line end, and the number of lines it then has."""
    import numpy as np

    data = np.frombuffer(text, dtype=np.uint8)
    # Each `[` that follows `],`, found among all `[` (about one a row): one pass over the text and a small array
    # of positions, where three full-size comparisons and their conjunctions held ~6x the text at once.
    opens = np.flatnonzero(data[2:] == ord("[")) + 2
    opens = opens[(data[opens - 1] == ord(",")) & (data[opens - 2] == ord("]"))]
    lines = data.copy()
    lines[opens - 1] = ord("\n")
    return lines, len(opens) + 1  # the text had no line end of its own


def parse_objects(text: bytes, lines: int) -> pa.Table | None:
    """`lines` lines of NDJSON objects (each line one object, line ends included) as columns named by their
    keys; None unless every line has the same keys in the same order, each holding a plain number, string or
    boolean, of one kind down the column."""
    if not text.startswith(b"{") or b"\\" in text or b"\r" in text:
        return None
    width = _width(text)
    table = _fields(text, width, threads=USE_THREADS)
    if table is None or table.num_rows != lines:
        return None
    names: list[str] = []
    columns = []
    for index, raw in enumerate(table.columns):
        key = _KEY.match(raw[0].as_py().encode())
        if key is None or (key.group(1) is not None) != (index == 0):
            return None
        column = _typed(raw, key.group(0), b"}" if index == width - 1 else b"", booleans=True)
        if column is None:
            return None
        names.append(key.group(2).decode())
        columns.append(column)
    if len(set(names)) != len(names):
        return None  # a key given twice: orjson keeps the last value, so that is for the row-by-row reader
    return _table(columns, names)


def _width(text: bytes) -> int:
    """Fields in the first line: every line must have as many (the CSV reader checks)."""
    first = text.find(b"\n")
    return (text[:first] if first >= 0 else text).count(b",") + 1


def _fields(text: bytes | pa.Buffer, width: int, *, threads: bool) -> pa.Table | None:
    """Each line of `text` cut at every comma, as `width` string columns; None if a line has another count or
    the text is not UTF-8, or for rows wider than MAX_COLUMNS."""
    if width > MAX_COLUMNS:
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [str(i) for i in range(width)]
    try:
        return pacsv.read_csv(
            pa.BufferReader(text),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=threads, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(quote_char=False, double_quote=False, escape_char=False,
                                             newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in names},
                                                 null_values=[], strings_can_be_null=False, check_utf8=True),
        )
    except (pa.ArrowException, UnicodeDecodeError):
        return None


def _table(columns: list[pa.ChunkedArray], names: list[str]) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_arrays(columns, names=names)


def _trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    import pyarrow.compute as pc

    return pc.utf8_trim(column, " ")


def _typed(column: pa.ChunkedArray, before: bytes, after: bytes, *, booleans: bool) -> pa.ChunkedArray | None:
    """A column of fields, each `before` + a JSON token + `after`, as the tokens' int64, float64, string (or,
    with `booleans`, bool) values; None unless every field is so and all tokens are numbers, all strings (or
    all booleans)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(column):
        return None
    fields = column.cast(pa.binary())  # a view: the slicing below is by bytes, and the text is UTF-8
    first = fields[0].as_py()
    if not first.startswith(before) or not first.endswith(after) or len(first) < len(before) + len(after):
        return None
    token = first[len(before) : len(first) - len(after)]
    string = token[:1] == b'"'
    if string:  # the quotes are cut with the rest
        before, after = before + b'"', b'"' + after
    if before and not _all(pc.starts_with(fields, before.decode())):
        return None
    if after and not _all(pc.ends_with(fields, after.decode())):
        return None
    if before or after:
        if string and _any(pc.less(pc.binary_length(fields), len(before) + len(after))):
            return None  # `"` alone both opens and closes
        # binary_slice's `stop` when nothing is cut from the end: the longest field (a huge one makes Arrow
        # size its output wrong, "Negative buffer resize")
        end = -len(after) if after else pc.max(pc.binary_length(fields)).as_py()
        values = pc.binary_slice(fields, len(before), end)
    else:
        values = fields
    if string:
        return _strings(values)
    if booleans and token in (b"true", b"false"):
        if not _all(pc.or_(pc.equal(values, b"true"), pc.equal(values, b"false"))):
            return None
        return pc.equal(values, b"true")
    return _numbers(_text(values), token)


def _strings(values: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """String contents (the quotes cut) as strings, unless one holds a quote or a control character, which
    JSON does not allow in a string written without escapes (the text holds no backslash)."""
    import numpy as np

    for chunk in values.chunks:
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=len(chunk) + 1, offset=4 * chunk.offset)
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        if np.count_nonzero((data < 0x20) | (data == ord('"'))):
            return None
    return _text(values)


def _text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Binary values cut from UTF-8 text at ASCII bytes, as strings, without checking them again."""
    import pyarrow as pa

    return pa.chunked_array([chunk.view(pa.string()) for chunk in values.chunks], type=pa.string())


def _numbers(column: pa.ChunkedArray, first: bytes) -> pa.ChunkedArray | None:
    """JSON number tokens as int64 (all integers) or float64 values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # A column whose first value has a fraction or an exponent is no integer column: one cast saved.
    if not any(mark in first for mark in b".eE"):
        try:
            integers = pc.cast(column, pa.int64())
        except pa.ArrowException:  # a float further down, or no number: the float check decides
            integers = None
        if integers is not None:
            # Arrow's cast takes `-`, digits, and also leading zeros and `0x` hex, which JSON does not: any
            # token of two characters or more starting with `0`, or of three or more starting with `-0`.
            for opening, shortest in (("0", 1), ("-0", 2)):
                starts = pc.starts_with(column, opening)
                if _any(starts) and _any(pc.and_(starts, pc.greater(pc.binary_length(column), shortest))):
                    return None
            return integers
    if not _all(pc.match_substring_regex(column, _NUMBER)):
        return None
    long = pc.greater_equal(pc.binary_length(column), 16)
    if _any(long) and _any(pc.match_substring_regex(pc.filter(column, long), _LONG_INTEGER)):
        return None
    try:
        floats = pc.cast(column, pa.float64())  # correctly rounded, as orjson's parser is
    except pa.ArrowException:
        return None
    return floats if _all(pc.is_finite(floats)) else None  # 1e999: orjson refuses the row


def _all(flags: pa.ChunkedArray) -> bool:
    import pyarrow.compute as pc

    return pc.all(flags).as_py() is True


def _any(flags: pa.ChunkedArray) -> bool:
    import pyarrow.compute as pc

    return pc.any(flags).as_py() is True
