"""Rows of a JSON array of arrays (`[1,"a",2.5],[2,"b",0.5],...`) as typed Arrow columns, parsed in C++.

Arrow's JSON reader takes objects only, so the rows go through its CSV reader instead, with quoting off: every
comma splits a field and every row boundary `],[` becomes a line end. Each field then holds one JSON token as
written, which Arrow's compute functions check and convert without building a Python object per value (and
without holding the GIL: this runs in the read-ahead thread while the model scores the previous batch).

The text is taken only when every field is plainly a JSON number or string: a string with a backslash, a comma
or a control character, a nested value, `true`, `false`, `null`, a number JSON does not allow (`01`, `.5`,
`NaN`) or one orjson would decode differently (an integer beyond 64 bits, a float that overflows), a row of
another length, whitespace other than single spaces around values, all give None, and the caller decodes the
same text with orjson as before: what a row means, and every message about a bad one, stay that path's.
Linear: a fixed number of passes over the text, each in C.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# JSON's number grammar (RFC 8259), whole field; and its integers.
_NUMBER = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$"
_INTEGER = r"^-?(?:0|[1-9][0-9]*)$"
# An integer token a float column cannot hold exactly (2**53 has 16 digits): orjson keeps it an int, and the
# row-by-row path would not make one float column of it.
_LONG_INTEGER = r"^-?[0-9]{16,}$"
# With no backslash in the text, a JSON string is `"`, anything but `"` and control characters, `"`.
_STRING = r'^"[^"\x00-\x1f]*"$'
# Whether Arrow may split the CSV parse over its own threads (bench/bench_columnar.py --only threads measures both).
USE_THREADS = True
# Row boundaries this reader cuts at: compact (orjson, JSON.stringify) and Python's json.dumps separators.
_BOUNDARIES = (b"],[", b"], [")


def parse(text: bytes) -> pa.Table | None:
    """The rows of `text`, which is `[...]` or `[...],[...],...` (rows of an array, without its brackets), as
    columns named "0", "1", ...; None unless every row is an array of plain numbers and strings, all alike."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if text[:1] != b"[" or text[-1:] != b"]" or b"\\" in text or b"\n" in text or b"\r" in text:
        return None
    body = text[1:-1]
    for boundary in _BOUNDARIES:
        if boundary in body:
            body = body.replace(boundary, b"\n")
    rows = body.count(b"\n") + 1  # every line end is a row boundary: the text had none of its own
    first = body.find(b"\n")
    width = (body[:first] if first >= 0 else body).count(b",") + 1
    names = [str(i) for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=USE_THREADS, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(quote_char=False, double_quote=False, escape_char=False,
                                             newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in names},
                                                 null_values=[], strings_can_be_null=False, check_utf8=True),
        )
    except (pa.ArrowException, UnicodeDecodeError):  # a row of another length, text that is not UTF-8
        return None
    if table.num_rows != rows:  # an empty last row, `[1],[]`, reads as no line at all
        return None
    columns = []
    for raw in table.columns:
        column = _typed(raw)
        if column is None and b" " in body:
            column = _typed(_trimmed(raw))
        if column is None:
            return None
        columns.append(column)
    return pa.Table.from_arrays(columns, names=names)


def _trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    import pyarrow.compute as pc

    return pc.utf8_trim(column, " ")


def _typed(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A column of JSON tokens as int64, float64 or string values; None unless all are numbers or all strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(column):
        return None
    first = column[0].as_py()
    if first.startswith('"'):
        if not _all(pc.match_substring_regex(column, _STRING)):
            return None
        return pc.utf8_slice_codeunits(column, 1, -1)
    # A column whose first value has a fraction or an exponent is no integer column: one regex pass saved.
    if not any(mark in first for mark in ".eE") and _all(pc.match_substring_regex(column, _INTEGER)):
        try:
            return pc.cast(column, pa.int64())
        except pa.ArrowException:  # beyond 64 bits: orjson makes no int64 of it (a failed cast costs ms: rare)
            return None
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
