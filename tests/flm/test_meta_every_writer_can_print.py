"""`flm inspect` (--json and the terminal summary) and `GET /NAME/` of `flm serve` show metadata that JSON allows but
UTF-8 or orjson cannot write: a lone surrogate (the escape "\\ud800" in the meta JSON, or an undecodable byte in a
legacy tar's artifact name, which tarfile reads as one) and an integer past 64 bits. They exited 1 with 'unexpected
TypeError: str is not valid UTF-8' / 'Integer exceeds 64-bit range' (inspect --json), 'unexpected UnicodeEncodeError'
(the summary on a terminal), and answered 500 (serve). They are shown as the file has them: the surrogate as its
escape, the integer as its digits."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import pickle
import tarfile
import zlib
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LinearRegression

import flmcli.flm as flm
from flmcli.cli import cli
from flmcli.flm import binary

PAYLOAD = base64.encodebytes(pickle.dumps(LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]), protocol=4))
# Written by hand: json.dumps writes the escapes below as they are, and Python's reader makes them lone surrogates.
META = (b'{"id":"a\\ud800b","timestamp":"2024-01-01T00:00:00","framework":{"lib":"sklearn","version":"1.9.1"},'
        b'"model":{"obj":"LinearRegression","info":null,"params":{"big":123456789012345678901234567890,'
        b'"low":-9223372036854775809},"metrics":{"\\udfff":1}},"extra":{"s":"x\\udc80y"}}')


def _binary(tmp_path: Path) -> Path:
    path = tmp_path / "odd.flm"
    path.write_bytes(binary.build(protocol=2, compression="zstd", meta=META, payload=PAYLOAD, artifacts={"a": b"1"}))
    return path


def _tar(tmp_path: Path) -> Path:
    """A Flama 1.x tar whose artifact's name holds the byte 0xff, which is not UTF-8."""
    meta = json.loads(META)
    document = zlib.compress(json.dumps({"meta": meta, "model": PAYLOAD.decode()}).encode())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as archive:
        for name, content in ((b"artifacts/x\xff.txt", b"1"), (b"model", document)):
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    path = tmp_path / "odd_tar.flm"
    path.write_bytes(buffer.getvalue())
    return path


EXPECTED_META = {"id": "a\\ud800b", "big": "123456789012345678901234567890", "low": "-9223372036854775809",
                 "metric": "\\udfff", "extra": "x\\udc80y"}


def _check(document: dict[str, object]) -> None:
    meta = document["meta"]
    assert isinstance(meta, dict)
    assert meta["id"] == EXPECTED_META["id"]
    assert meta["model"]["params"] == {"big": EXPECTED_META["big"], "low": EXPECTED_META["low"]}
    assert meta["model"]["metrics"] == {EXPECTED_META["metric"]: 1}
    assert meta["extra"] == {"s": EXPECTED_META["extra"]}


@pytest.mark.parametrize("make", [_binary, _tar])
def test_inspect_json_shows_what_utf8_and_orjson_cannot_write(tmp_path: Path, make: object) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    result = CliRunner().invoke(cli, ["inspect", "--json", str(path)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout_bytes)
    _check(document)
    assert document["manifest"] == (["a"] if make is _binary else ["x\\udcff.txt"])


def test_the_model_still_loads_and_predicts(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["predict", str(_tar(tmp_path))], input="[3.0]\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["prediction"] == pytest.approx(6.0)


@pytest.mark.parametrize("make", [_binary, _tar])
def test_terminal_summary_writes_utf8(tmp_path: Path, make: object, capsys: pytest.CaptureFixture[str]) -> None:
    from flmcli.cli import summary

    model = flm.load(make(tmp_path))  # type: ignore[operator]
    summary.show(model, model.inspect(), audit=False)  # capsys's stdout encodes UTF-8 strictly, as a terminal's
    shown = capsys.readouterr().out
    assert "a\\ud800b" in shown
    assert "x\\udc80y" in shown


def test_serve_shows_it(tmp_path: Path) -> None:
    from flmcli.predictor import Predictor
    from flmcli.serve.app import create_app

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app({"odd": Predictor.from_path(str(_binary(tmp_path)))}))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get("/odd/")

    response = asyncio.run(get())
    assert response.status_code == 200, response.text
    _check(response.json())
    orjson.loads(response.content)
