"""A JSON document in UTF-16 (with a BOM, or without: NULs between its ASCII characters) is refused saying so, with
the iconv that makes it UTF-8, as NDJSON and CSV inputs are, by `flm predict` and `flm serve` alike: it was "got text
that is not JSON" (with a BOM), or an invalid JSON row 1 (without one, the text opening with `[`)."""

from __future__ import annotations

import pytest

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CORPUS, invoke
from tests.serve.test_config import post

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
TEXT = '{"input": [[5.1, 3.5, 1.4, 0.2]]}'
BODIES = {
    "utf-16": TEXT.encode("utf-16"),  # with a BOM
    "utf-16-le": TEXT.encode("utf-16-le"),
    "utf-16-be": TEXT.encode("utf-16-be"),
    "array-le": "[[5.1, 3.5, 1.4, 0.2]]".encode("utf-16-le"),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_predict_says_it_is_not_utf8(name: str) -> None:
    ran = invoke("predict", IRIS, "--from", "json", input=BODIES[name])
    assert ran.returncode == 1
    lines = ran.stderr.decode().splitlines()
    assert lines[0].startswith("Error: <stdin>: not text: a NUL byte or a UTF-16 BOM"), lines
    assert lines[1] == "Hint: convert the text to UTF-8 first (iconv -f utf-16 -t utf-8)"


@pytest.mark.parametrize("name", list(BODIES))
def test_serve_says_it_is_not_utf8(name: str) -> None:
    app = create_app({"iris": Predictor.from_path(IRIS)})
    response = post(app, "/iris/predict/", content=BODIES[name], headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not text: a NUL byte or a UTF-16 BOM" in response.json()["error"]


def test_the_same_text_in_utf8_scores() -> None:
    ran = invoke("predict", IRIS, "--from", "json", input=TEXT.encode())
    assert (ran.returncode, ran.stdout) == (0, b"[0]\n"), ran.stderr


# -- detection, on stdin with no --from ------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", ['[5.1, 3.5, 1.4, 0.2]\n', "a,b,c,d\n5.1,3.5,1.4,0.2\n", TEXT])
def test_detection_says_utf16(codec: str, text: str) -> None:
    # It was "binary data that is not Parquet or Arrow", or, for little-endian `[`, an NDJSON line of invalid JSON.
    ran = invoke("predict", IRIS, input=text.encode(codec))
    assert ran.returncode == 1
    assert ran.stderr.decode().splitlines() == [
        "Error: <stdin>: cannot detect the input format: UTF-16 text (flm reads text as UTF-8)",
        "Hint: convert the text to UTF-8 first (iconv -f utf-16 -t utf-8)"]


@pytest.mark.parametrize("head", [bytes(range(256)), b"\x00" * 64, b"\x89PNG\r\n\x1a\n" + bytes(56)])
def test_binary_data_is_not_called_utf16(head: bytes) -> None:
    ran = invoke("predict", IRIS, input=head)
    assert "binary data that is not Parquet or Arrow" in ran.stderr.decode()
