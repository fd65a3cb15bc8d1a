"""A CSV file read on while the model loads is read again from its start when a column the model wants as text was
read as numbers (csv_format.SPECULATE). A file cut meanwhile is then named as changed while it was read: its first
rows alone were scored with exit 0, or, cut to nothing, it was "a header longer than the reader's block"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import flmcli.formats.csv_format as csv_format
from flmcli.errors import InputError

ROWS = b"".join(b"%05d,1.0\n" % (i % 1000) for i in range(2000))


class _CutWhileLoading:
    """`as_text` of a model still loading while the reader reads on; once asked, the file is cut to `size` bytes
    (as if meanwhile) and the model wants `code` as text."""

    def __init__(self, path: Path, size: int) -> None:
        self.path, self.size = path, size

    def known(self) -> bool:
        return False

    def __call__(self, header: list[str]) -> frozenset[str]:
        os.truncate(self.path, self.size)
        return frozenset({"code"})


@pytest.mark.parametrize("size", [0, 100, 5000])
def test_a_file_cut_while_it_was_read_is_named(tmp_path: Path, size: int) -> None:
    path = tmp_path / "codes.csv"
    path.write_bytes(b"code,x\n" + ROWS)
    with open(path, "rb") as fp, pytest.raises(InputError) as failed:
        list(csv_format.read(fp, source=str(path), batch_size=500, as_text=_CutWhileLoading(path, size)))
    assert str(failed.value) == f"{path}: changed while it was read (it is now shorter than what was read)"


def test_a_file_that_grew_is_read_again_whole(tmp_path: Path) -> None:
    """Not cut: read again from the start, every row once, the codes as written."""
    path = tmp_path / "codes.csv"
    path.write_bytes(b"code,x\n" + ROWS)
    size = path.stat().st_size
    with open(path, "rb") as fp:
        batches = list(csv_format.read(fp, source=str(path), batch_size=500, as_text=_CutWhileLoading(path, size)))
    codes = [code for batch in batches for code in batch.table.column("code").to_pylist()]  # type: ignore[union-attr]
    assert codes == [f"{i % 1000:05d}" for i in range(2000)]
