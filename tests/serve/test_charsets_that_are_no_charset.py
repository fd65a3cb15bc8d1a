"""A declared charset that Python has a codec for but no client can mean is 415, and a body its codec cannot turn
into UTF-8 text is 400, never a 500: `charset=undefined` and `charset=punycode` (no position in their errors),
`charset=utf-7` making a lone surrogate, were 'internal error'; `charset=unicode_escape` rewrote the text
(`\\u0034` became `4`) and was scored."""

from __future__ import annotations

import pytest

from tests.helpers import CORPUS
from tests.serve.test_app import app_client

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
CSV = b"a,b,c,d\n5.1,3.5,1.4,0.2\n"


@pytest.mark.parametrize("charset", ["undefined", "idna", "punycode", "unicode_escape", "Raw-Unicode-Escape",
                                     "charmap"])
def test_no_charset_is_415(charset: str) -> None:
    with app_client({"iris": IRIS}) as client:
        response = client.post("/iris/predict/", content=CSV, headers={"content-type": f"text/csv; charset={charset}"})
    assert response.status_code == 415, response.text
    assert response.json()["error"] == f"field 'Content-Type': unsupported charset {charset.lower()!r}; send UTF-8"


def test_a_lone_surrogate_is_400() -> None:
    with app_client({"iris": IRIS}) as client:
        response = client.post("/iris/predict/", content=b"a,b,c,d\n+2D8-,1,2,3\n",
                               headers={"content-type": "text/csv; charset=utf-7"})
    assert response.status_code == 400, response.text
    assert "the body is not utf-7 text" in response.json()["error"]


@pytest.mark.parametrize("charset", ["utf-7", "utf-16", "latin-1", "utf-8-sig"])
def test_real_charsets_still_pass(charset: str) -> None:
    with app_client({"iris": IRIS}) as client:
        response = client.post("/iris/predict/", content=CSV.decode().encode(charset),
                               headers={"content-type": f"text/csv; charset={charset}"})
    assert response.status_code == 200, response.text
