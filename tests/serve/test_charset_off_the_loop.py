"""A large body in a declared charset other than UTF-8 (`charset=utf-16`, `latin-1`) is decoded off the event loop,
as a large body is parsed: the decode ran on the loop whatever the size, so a 60 MB UTF-16 v2 body (good or bad)
held every other request for its whole decode. A small one is still decoded inline (cheaper than a thread hop)."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.helpers import CORPUS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette 1.x asks for httpx2; the TestClient works with httpx
    from starlette.testclient import TestClient

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
ROW = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    from flmcli.predictor import Predictor
    from flmcli.serve import create_app

    with TestClient(create_app({"iris": Predictor.from_path(IRIS)})) as test_client:
        yield test_client


@pytest.fixture()
def on_loop(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each body decoded from its charset, whether it was decoded on the event loop's thread."""
    from flmcli.serve import media

    seen: list[bool] = []
    as_utf8 = media.as_utf8

    def probed(*args: Any) -> Any:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return as_utf8(*args)

    monkeypatch.setattr(media, "as_utf8", probed)
    return seen


def test_predict(client: TestClient, on_loop: list[bool]) -> None:
    headers = {"content-type": "application/json; charset=utf-16"}
    small = client.post("/iris/predict/", content=orjson.dumps({"input": [ROW]}).decode().encode("utf-16"),
                        headers=headers)
    large = client.post("/iris/predict/", content=orjson.dumps({"input": [ROW] * 20_000}).decode().encode("utf-16"),
                        headers=headers)
    assert small.status_code == large.status_code == 200, large.text[:200]
    assert len(large.json()["output"]) == 20_000
    assert on_loop == [True, False]


def test_v2(client: TestClient, on_loop: list[bool]) -> None:
    headers = {"content-type": "application/json; charset=utf-16"}

    def body(rows: int) -> bytes:
        tensor = {"name": "x", "shape": [rows, 4], "datatype": "FP64", "data": [ROW] * rows}
        return orjson.dumps({"inputs": [tensor]}).decode().encode("utf-16")

    small = client.post("/v2/models/iris/infer", content=body(1), headers=headers)
    large = client.post("/v2/models/iris/infer", content=body(20_000), headers=headers)
    assert small.status_code == large.status_code == 200, large.text[:200]
    assert large.json()["outputs"][0]["shape"][0] == 20_000
    # a large body that is not the charset it declares: refused, and decoded off the loop too
    bad = client.post("/v2/models/iris/infer", content=body(20_000) + b"\x00\xd8", headers=headers)
    assert bad.status_code == 400 and "is not utf-16 text" in bad.json()["error"]
    assert on_loop == [True, False, False]


# -- decoded a piece at a time ----------------------------------------------------------------------------------
# One decode call holds the GIL throughout, worker thread or not (a 52 MB UTF-16 body: ~140 ms with the loop stopped):
# a large body is decoded a piece at a time, the same text and the same place for a bad byte as one call gives.

TEXT = '{"input": [' + "[5.1, 3.5, 1.4, 0.2], " * 100_000 + '"é 𝄞 x"]}'


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32", "utf-7", "gb18030", "latin-1"])
def test_pieces_give_the_text_one_call_gives(codec: str) -> None:
    from flmcli.serve import media

    body = TEXT.encode(codec) if codec != "latin-1" else TEXT.replace("𝄞", "?").encode(codec)
    assert len(body) > 4 * media._PIECE
    assert media.as_utf8(f"application/json; charset={codec}", "json", body) == body.decode(codec).encode()


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-32", "utf-7", "gb18030"])
@pytest.mark.parametrize("where", [0.5, 1.0])
def test_pieces_name_the_byte_one_call_names(codec: str, where: float) -> None:
    from flmcli.errors import InputError
    from flmcli.serve import media

    body = TEXT.encode(codec)
    cut = int(len(body) * where) // 4 * 4
    bad = body[:cut] + b"\xff\xfe\xff\xdc" + body[cut:]
    with pytest.raises(UnicodeDecodeError) as whole:
        bad.decode(codec)
    with pytest.raises(InputError, match=f"the body is not {codec} text \\(byte {whole.value.start + 1}\\)"):
        media.as_utf8(f"application/json; charset={codec}", "json", bad)


def test_no_call_decodes_more_than_a_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    import codecs

    from flmcli.serve import media

    sizes: list[int] = []
    make = codecs.getincrementaldecoder

    def recording(name: str) -> Any:
        decoder = make(name)()
        decode = decoder.decode

        def piece(data: bytes, final: bool = False) -> str:
            sizes.append(len(data))
            return decode(data, final)

        decoder.decode = piece  # type: ignore[method-assign]
        return lambda: decoder

    monkeypatch.setattr(codecs, "getincrementaldecoder", recording)
    body = TEXT.encode("utf-16")
    assert media.as_utf8("application/json; charset=utf-16", "json", body) == TEXT.encode()
    assert len(sizes) > 4 and max(sizes) <= media._PIECE
