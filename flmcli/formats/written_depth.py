"""How deeply nested a kept input value Parquet and Arrow outputs can hold, so that what flm writes reads back.

Input may nest 1024 levels (`nesting`), and pyarrow makes a column of any depth, but the files have limits below
that. A Parquet reader refuses a schema deeper than 100 levels by default ("Parquet schema too deeply nested"): a
list takes two levels, a struct or a leaf one, so 49 lists (or 98 structs) is the most it reads back, and flm wrote
such files with exit 0. Arrow's IPC writer stops at 64 levels ("Max recursion depth reached", which reached the user
as an unexpected error, the file cut short). A column past the limit is refused naming the field and the row
that makes it so deep, as a field whose type changes is (`columnar._mixed`): a column has one type for every row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flmcli.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

    from flmcli.batch import Scored


class Limit:
    """A format's depth limit: what a list adds (Parquet's LIST group and its repeated group: 2), the levels the
    file adds above a column (Parquet's root: 1), and the most it takes."""

    def __init__(self, fmt: str, most: int, list_levels: int, above: int) -> None:
        self.fmt = fmt
        self.most = most
        self.list_levels = list_levels
        self.above = above

    def of_type(self, kind: pa.DataType) -> int:
        """The levels a column of this type takes, its leaf included."""
        import pyarrow as pa

        deepest = 0
        stack = [(kind, 1)]
        while stack:
            kind, depth = stack.pop()
            if pa.types.is_struct(kind):
                stack.extend((kind.field(i).type, depth + 1) for i in range(kind.num_fields))
            elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
                stack.append((kind.value_type, depth + self.list_levels))
            elif pa.types.is_map(kind):
                stack.extend([(kind.key_type, depth + 2), (kind.item_type, depth + 2)])
            else:
                deepest = max(deepest, depth)
        return deepest + self.above

    def of_value(self, value: Any) -> int:
        """The levels a value would take (a loop, not recursion: a value may nest 1024 levels)."""
        deepest = 0
        stack = [(value, 1)]
        while stack:
            value, depth = stack.pop()
            if isinstance(value, dict):
                stack.extend((item, depth + 1) for item in value.values())
            elif isinstance(value, list):
                stack.extend((item, depth + self.list_levels) for item in value)
            deepest = max(deepest, depth)
        return deepest + self.above

    def check(self, table: pa.Table, scored: Scored) -> None:
        """Refuse a column of `table` (the rows of `scored` it writes) nested past the limit, naming it and the
        first row that takes it there."""
        for field in table.schema:
            if not _nested(field.type) or self.of_type(field.type) <= self.most:
                continue
            values = table.column(field.name).to_pylist()
            index = next((i for i, value in enumerate(values) if self.of_value(value) > self.most), 0)
            rows = range(len(scored.batch)) if scored.keep is None else [i for i, k in enumerate(scored.keep) if k]
            batch = scored.batch
            raise InputError(f"a kept value is nested deeper than {self.fmt} output holds ({self.most} levels, a "
                             f"list taking {self.list_levels})", source=batch.source, line=batch.line_of(rows[index]),
                             field=field.name,
                             hint="drop the field from --keep/--keep-input, or write ndjson, json or csv")


def _nested(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_nested(kind))


PARQUET = Limit("Parquet", 100, list_levels=2, above=1)
ARROW = Limit("Arrow", 64, list_levels=1, above=0)
