"""A NUL byte in a CSV row read long after the first reads is still refused, naming line and column: string values
are searched for one only once a read held one (csv_format._ShortReads.nul), which every read is looked at for
before the reader has it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.formats.test_csv_hostile_bytes import HEADER, ROW
from tests.helpers import CHURN, invoke


@pytest.mark.parametrize(("bad", "field"), [
    ("1,15634602,Hargrave,619,Fra\0nce,Female,42,2,0,1,1,1,101348.88", "Geography"),
    ("1,15634602,Harg\0rave,619,France,Female,42,2,0,1,1,1,101348.88", "Surname"),
])
def test_a_nul_byte_after_many_clean_reads(tmp_path: Path, bad: str, field: str) -> None:
    before = 150_000  # ~9 MB of rows: past the first two 4 MiB reads and several 1 MiB ones, in a later batch
    text = "\n".join([HEADER, *[ROW] * before, bad, *[ROW] * 10]).encode() + b"\n"
    assert text.index(b"\0") > 8 << 20
    path = tmp_path / "rows.csv"
    path.write_bytes(text)
    line = before + 2
    for ran, name in ((invoke("predict", CHURN, path), str(path)),
                      (invoke("predict", CHURN, "--from", "csv", input=text), "<stdin>")):
        assert ran.returncode == 1
        message = ran.stderr.decode().splitlines()[0]
        assert message.startswith(f"Error: {name}:{line}: field '{field}': not text: a NUL byte"), message
