"""A JSON object that gives a key twice (`{"Age": 42, "Age": 99}`): JSON leaves which value is meant undefined and
orjson keeps the last, silently. Such a row is a bad row naming the key, as Arrow's JSON reader refuses it.

orjson cannot tell, so the decoded objects are checked against the text: each key ends with `":` (or `" :`), so
a text with more of those than its decoded objects have keys may hold a key twice (or a string holding `":`, or
a nested object), and only then is it parsed again by Python's `json`, which shows every key. Stdlib only.
"""

from __future__ import annotations

import json
from typing import Any

from flmcli.batch import BadRecord


class _Twice:
    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Twice:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return _Twice(key)
        seen.add(key)
    return dict(pairs)


def _more_keys_written(text: bytes, decoded: int) -> bool:
    """Whether `text` writes more keys than `decoded`: colons first (a one-byte count, several times quicker),
    then only the colons that end a string."""
    return text.count(b":") > decoded and text.count(b'":') + text.count(b'" :') > decoded


def _keys_decoded(values: list[Any]) -> int:
    return sum(len(value) for value in values if value.__class__ is dict)


def bad_record(key: str) -> BadRecord:
    return BadRecord(f"field {key!r} is given twice in this object (which value is meant, JSON leaves undefined)",
                     "give each field once")


def refuse_in_rows(text: bytes, values: list[Any]) -> list[Any]:
    """`values`, the rows orjson decoded from `text` (the rows of an array, without its brackets), with a
    BadRecord in place of each object that gives a key twice."""
    if not _more_keys_written(text, _keys_decoded(values)):
        return values
    again = json.loads(b"[" + text + b"]", object_pairs_hook=_pairs)
    if len(again) != len(values):  # cannot be: the same valid JSON
        return values
    return [bad_record(row.key) if row.__class__ is _Twice else value for row, value in zip(again, values,
                                                                                             strict=True)]


def twice_in_line(line: bytes, value: Any) -> str | None:
    """The key given twice in the object `value` orjson decoded from `line`, if any."""
    if value.__class__ is not dict or not _more_keys_written(line, len(value)):
        return None
    again = json.loads(line, object_pairs_hook=_pairs)
    return again.key if again.__class__ is _Twice else None


def suspect(text: bytes, values: list[Any]) -> bool:
    """Whether rows decoded from `text` may hold an object that gives a key twice (then `refuse_in_rows` tells)."""
    return _more_keys_written(text, _keys_decoded(values))
