"""CSV read on while the model loads, then read again from the start for a column the model wants as text
(csv_format.SPECULATE, _ShortReads.record/detach): inputs of hostile shapes give the rows they give when the model
is known at once, from a file and from a stream: CRLF line ends, a byte-order mark, no final line end, and quoted
values holding line ends across a batch border."""

from __future__ import annotations

import pytest

from tests.formats.test_csv_reads_while_loading import Later, plain, read_all, same

ROWS = 450_000  # past the reader's first 4 MiB block, as speculation needs


def shaped(end: bytes = b"\n", bom: bool = False, final: bool = True, quoted: bool = False) -> bytes:
    rows = []
    for i in range(ROWS):
        note = b'"two\nlines"' if quoted and 65_530 <= i <= 65_540 else b"n"
        rows.append(b"%s%d,%d.5,%s" % (b"0" if i % 3 == 0 else b"", 2100 + i % 50, i % 7, note))
    text = b"code,x,note" + end + end.join(rows) + (end if final else b"")
    return (b"\xef\xbb\xbf" if bom else b"") + text


SHAPES = {
    "crlf": shaped(b"\r\n"),
    "bom-crlf-no-final-end": shaped(b"\r\n", bom=True, final=False),
    "no-final-end": shaped(final=False),
    "quoted-line-ends-across-a-batch": shaped(quoted=True),
}


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "stream"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_read_again_as_text_gives_the_rows_read_at_once(shape: str, seekable: bool) -> None:
    data = SHAPES[shape]
    got = read_all(data, Later({"code"}, after=3), seekable=seekable)
    want = read_all(data, plain({"code"}), seekable=seekable)
    same(got, want)
    codes = [code for table in got[0] for code in table.column("code").to_pylist()]
    assert len(codes) == ROWS and codes[:4] == ["02100", "2101", "2102", "02103"]
