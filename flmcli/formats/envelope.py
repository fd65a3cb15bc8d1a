"""Flama's request body, `{"input": [row, ...]}`: how its opening is recognised, and what is wrong with a bad one.

The JSON reader reads the rows inside it like a bare array; detection and the server's body checks use the same key.
"""

from __future__ import annotations

import re
from typing import Any

from flmcli.batch import CHAIN_KEY
from flmcli.errors import InputError

KEY = CHAIN_KEY
_KEY = re.escape(f'"{KEY}"'.encode())
# An object whose first key is the envelope's (detection of a pretty-printed body, whose first line is not JSON).
OPENING = re.compile(rb"^\{\s*" + _KEY + rb"\s*:")
# Where an array of rows opens: `[`, or `{"input": [` with "input" as its first key.
ROWS_OPENING = re.compile(rb"\[\s*|\{\s*" + _KEY + rb"\s*:\s*\[\s*")
# ijson's path to the rows inside the envelope, and a canonical opening to hand it.
ITEMS = f"{KEY}.item"
CANONICAL_OPENING = b'{"' + KEY.encode() + b'":['
USAGE = f'send {{"{KEY}": [[...], ...]}}'
BODY = f'{{"{KEY}": [...]}}'


def is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and KEY in value


def problem(document: Any) -> InputError | None:
    """Why a decoded body holds no rows, if its shape is at fault."""
    if isinstance(document, dict) and KEY not in document:
        return InputError(f"missing field; {USAGE}", source="body", field=KEY)
    if isinstance(document, dict) and len(document) > 1:
        return other_key(next(key for key in document if key != KEY), "body")
    if isinstance(document, dict) and not isinstance(document[KEY], list):
        return InputError(f"expected an array of rows, got {_kind(document[KEY])}", source="body", field=KEY)
    if not isinstance(document, (dict, list)):
        return InputError(f"expected {BODY}, got {_kind(document)}", source="body")
    return None


def other_key(key: str, source: str) -> InputError:
    """A key beside "input": refused, not ignored. A misspelt key (`"inputs"` next to an old "input") or one
    meant to change the answer (`"method": "predict_proba"`) would otherwise score without a word, wrongly."""
    hint = "the method is chosen by --method, or ?method= in flm serve" if key == "method" else None
    return InputError(f"not a field of the body; {USAGE}, and no other field", source=source, field=key, hint=hint)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
