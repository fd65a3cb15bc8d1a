"""A JSON object that gives a key twice (`{"Age": 42, "Age": 99}`): JSON leaves which value is meant undefined and
orjson keeps the last, silently. Such a row is a bad row naming the key, as Arrow's JSON reader refuses it.

orjson cannot tell, so the decoded objects are checked against the text: each key ends with `":` (or `" :`, or
other whitespace before the colon), so a text with more of those than its decoded objects have keys may hold a
key twice (or a string holding `":`, or a nested object), and only then is it parsed again by Python's `json`,
which shows every key. Stdlib only.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flmcli.batch import BadRecord

# JSON allows any run of spaces, tabs and line ends between a key and its colon; `":` and `" :` are the usual two.
_KEY_END = re.compile(rb'"[ \t\r\n]*:')
# Any other run of it begins with one of these: looked for first, as `in` is much quicker than the pattern.
_SPACED = (b'"\t', b'"\n', b'"\r', b'"  ', b'" \t', b'" \n', b'" \r')


class _Twice:
    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


def _repeated(pairs: list[tuple[str, Any]]) -> str | None:
    """The first key an object's pairs give twice, if any."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    return None


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Twice:
    key = _repeated(pairs)
    return dict(pairs) if key is None else _Twice(key)


class _Found(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _stop_at_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    key = _repeated(pairs)
    if key is not None:
        raise _Found(key)
    return dict(pairs)


def twice_anywhere(text: bytes) -> str | None:
    """The first key given twice in any object of the JSON document `text` (which orjson read), at any depth. What
    Python's `json` refuses that orjson read (a number past its limits, nesting past its recursion) is no key twice."""
    try:
        json.loads(text, object_pairs_hook=_stop_at_twice)
    except _Found as found:
        return found.key
    except (ValueError, RecursionError):
        pass
    return None


def _more_keys_written(text: bytes, values: list[Any], other_keys: int = 0) -> bool:
    """Whether `text` writes more keys than `values` decoded from it hold: colons first (a one-byte count, several
    times quicker), then only the colons that end a string, then against the keys of nested objects too."""
    decoded = sum(len(value) for value in values if value.__class__ is dict) + other_keys
    if text.count(b":") <= decoded:
        return False
    written = text.count(b'":') + text.count(b'" :')
    if written <= decoded and any(spaced in text for spaced in _SPACED):
        written = len(_KEY_END.findall(text))  # a key ended by other whitespace before its colon: count them all
    return written > decoded and written > _nested_keys(values) + other_keys


def _nested_keys(value: Any) -> int:
    """Keys of every object in `value`, at any depth. A stack of its own, not recursion: a row may nest as deep as
    the row nesting limit (1024), past Python's recursion limit ("unexpected RecursionError" before)."""
    keys = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if item.__class__ is dict:
            keys += len(item)
            stack.extend(inner for inner in item.values() if inner.__class__ in (dict, list))
        elif item.__class__ is list:
            stack.extend(inner for inner in item if inner.__class__ in (dict, list))
    return keys


def bad_record(key: str) -> BadRecord:
    return BadRecord(f"field {key!r} is given twice in this object (which value is meant, JSON leaves undefined)",
                     "give each field once")


def refuse_in_rows(text: bytes, values: list[Any]) -> list[Any]:
    """`values`, the rows orjson decoded from `text` (the rows of an array, without its brackets), with a
    BadRecord in place of each object that gives a key twice."""
    if not _more_keys_written(text, values):
        return values
    again = json.loads(b"[" + text + b"]", object_pairs_hook=_pairs)
    if len(again) != len(values):  # cannot be: the same valid JSON
        return values
    return [bad_record(row.key) if row.__class__ is _Twice else value for row, value in zip(again, values,
                                                                                             strict=True)]


def twice_in_line(line: bytes, value: Any) -> str | None:
    """The key given twice in the object `value` orjson decoded from `line`, if any."""
    if value.__class__ is not dict or not _more_keys_written(line, [value]):
        return None
    again = json.loads(line, object_pairs_hook=_pairs)
    return again.key if again.__class__ is _Twice else None


def suspect(text: bytes, values: list[Any], other_keys: int = 0) -> bool:
    """Whether rows decoded from `text` may hold an object that gives a key twice (then `refuse_in_rows` tells);
    `other_keys`: the keys `text` holds besides the rows' (an envelope's)."""
    return _more_keys_written(text, values, other_keys)
