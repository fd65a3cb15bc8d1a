"""NDJSON output lines built from whole numeric columns: one orjson call per column, no Python object per row.

orjson formats every number of a list exactly as it formats that number alone (shortest round-trip floats,
NaN and infinities as null), and no number's text holds a comma, so splitting the dumped list at commas gives
each value's own bytes, joined between the object keys in C. Same bytes as dumping one dict per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    import pandas as pd


def numeric_lines(outputs: pd.DataFrame) -> bytes | None:
    """`{"name": value, ...}` per row, newline-ended, for all-numeric outputs; None for anything else."""
    if not len(outputs) or not all(kind.kind in "biuf" for kind in outputs.dtypes):
        return None
    names = [str(name) for name in outputs.columns]
    if len(set(names)) != len(names):
        return None  # a dict per row keeps the last of equal keys: leave that to the row-by-row encoder
    rows, width = outputs.shape
    keys = [(b"{" if j == 0 else b",") + orjson.dumps(name) + b":" for j, name in enumerate(names)]
    values = [orjson.dumps(outputs.iloc[:, j].tolist())[1:-1].split(b",") for j in range(width)]
    if width == 1:
        return keys[0] + (b"}\n" + keys[0]).join(values[0]) + b"}\n"
    stride = 2 * width + 1
    pieces = [b"}\n"] * (rows * stride)
    for j in range(width):
        pieces[2 * j :: stride] = [keys[j]] * rows
        pieces[2 * j + 1 :: stride] = values[j]
    return b"".join(pieces)
