"""A key given twice is found whatever JSON whitespace stands between a key and its colon (tabs, line ends, several
spaces): only `":` and `" :` were counted, so `"Age"\t:99` slipped through and orjson kept the last value."""

from __future__ import annotations

import pytest

from tests.formats.test_json_duplicate_keys import GOOD, MESSAGE, array, ndjson
from tests.helpers import CHURN, invoke


@pytest.mark.parametrize("space", [b"\t", b"\n", b"\r\n", b"  ", b" \t", b" \n", b"\t \n "])
@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_a_key_twice_with_whitespace_before_its_colon_is_a_bad_row(space: bytes, fmt: str) -> None:
    if fmt == "ndjson" and b"\n" in space:
        pytest.skip("a line end inside an NDJSON object ends its line")
    twice = GOOD[:-1] + b',"Age"' + space + b":99}"
    text = (ndjson if fmt == "ndjson" else array)(GOOD, twice, GOOD)
    ran = invoke("predict", CHURN, "--from", fmt, input=text)
    assert ran.returncode == 1, ran.stdout
    assert ran.stderr.decode().splitlines()[0] == f"Error: <stdin>:2: {MESSAGE}"


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_keys_spaced_from_their_colons_once_each_are_scored(fmt: str) -> None:
    spaced = GOOD.replace(b'":', b'"\t :')
    text = (ndjson if fmt == "ndjson" else array)(spaced, GOOD)
    ran = invoke("predict", CHURN, "--from", fmt, "--to", "ndjson", input=text)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == b'{"prediction":0}\n{"prediction":0}\n'
