"""Issue 7 §2: the container reader is linear and bounded, and what it shows cannot forge a terminal."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import subprocess
import sys
import tarfile
import tracemalloc
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sklearn.linear_model import LinearRegression

import flmcli.flm as flm
from flmcli.cli import cli
from flmcli.errors import ModelFileError
from flmcli.flm import binary

META = {"id": "0" * 32, "timestamp": "2024-01-01T00:00:00", "framework": {"lib": "sklearn", "version": "1.9.1"},
        "model": {"obj": "LinearRegression", "info": None, "params": None, "metrics": None}}
PAYLOAD = b"gARdlC4=\n"  # base64 of an empty-list pickle


def _raw_p2(meta: bytes, count: int, entries: bytes, model: bytes = PAYLOAD, kind: int = 0) -> bytes:
    """A protocol-2 file with every section stored raw (section byte 0xFF), entries written as given."""
    meta_sec = b"\xff" + meta
    art_sec = b"\xff" + binary.COUNT.pack(count) + entries
    model_sec = bytes([0xFF, kind]) + model
    body = binary.P2_BODY.pack(len(meta_sec), len(art_sec), len(model_sec)) + meta_sec + art_sec + model_sec
    return binary.HEADER.pack(2, 4, len(body)) + body


def _ambiguous_artifacts(units: int) -> bytes:
    """`units` entries each readable two ways (name size as bytes or as code points), none parsing to the end.

    Read as bytes, an entry is a 6-character name, 12 bytes of content and then an empty entry; read as
    code points, a 12-character name and 12 bytes of content. Both readings meet again at the next unit,
    so a reader that backtracks tries 2**units paths before finding that none has the declared count.
    """
    unit = binary.ENTRY.pack(12, 12) + "é".encode() * 12 + bytes(12)
    return _raw_p2(json.dumps(META).encode(), 2 * units + 1, unit * units)


def test_crafted_artifact_names_do_not_hang_inspect(tmp_path: Path) -> None:
    path = tmp_path / "hang.flm"
    path.write_bytes(_ambiguous_artifacts(60))
    assert len(path.read_bytes()) < 6 * 1024
    done = subprocess.run([sys.executable, "-m", "flmcli", "inspect", str(path)], capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 3, done.stderr
    assert b"artifact" in done.stderr


def test_thousands_of_artifacts_load(tmp_path: Path) -> None:
    artifacts = {f"a{i}.txt": str(i).encode() for i in range(3000)}
    path = tmp_path / "many.flm"
    flm.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), path, artifacts=artifacts)
    assert flm.load(path).artifacts == artifacts
    raw = tmp_path / "many-none.flm"
    entries = b"".join(binary.ENTRY.pack(len(n), len(c)) + n.encode() + c for n, c in artifacts.items())
    raw.write_bytes(_raw_p2(json.dumps(META).encode(), len(artifacts), entries))
    assert flm.load(raw).artifacts == artifacts


def _gnu_sparse_member(name: str, real_size: int) -> bytes:
    """One old-GNU sparse tar member: 512 stored bytes that expand to `real_size` (tarfile cannot write these)."""
    header = bytearray(512)

    def put(offset: int, width: int, value: bytes) -> None:
        header[offset : offset + len(value)] = value[:width]

    def octal(value: int, width: int) -> bytes:
        return f"{value:0{width - 1}o}".encode() + b"\0"

    put(0, 100, name.encode())
    put(100, 8, octal(0o644, 8))
    put(108, 8, octal(0, 8))
    put(116, 8, octal(0, 8))
    put(124, 12, octal(512, 12))
    put(136, 12, octal(0, 12))
    header[156] = ord("S")
    put(257, 8, b"ustar  \0")
    put(386, 12, octal(real_size - 512, 12))  # one sparse region: the last 512 bytes
    put(398, 12, octal(512, 12))
    header[482] = 0
    put(483, 12, octal(real_size, 12))
    header[148:156] = b" " * 8
    put(148, 8, f"{sum(header):06o}".encode() + b"\0 ")
    return bytes(header) + b"x" * 512


def _tar_bytes(*members: bytes) -> bytes:
    return b"".join(members) + bytes(1024)


def _legacy_tar() -> bytes:
    """A complete Flama 1.x tar (one 'model' member), uncompressed."""
    doc = zlib.compress(json.dumps({"model": PAYLOAD.decode(), "meta": META}).encode())
    info = tarfile.TarInfo("model")
    info.size = len(doc)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:") as archive:
        archive.addfile(info, io.BytesIO(doc))
    return out.getvalue()


@pytest.mark.parametrize("where", ["tar", "bundle"])
def test_gnu_sparse_member_counts_its_declared_size(tmp_path: Path, where: str) -> None:
    sparse = _gnu_sparse_member("artifacts/big", 6 << 30)
    if where == "tar":
        data = bz2.compress(_tar_bytes(sparse))
    else:
        data = binary.build(protocol=2, compression="zstd", meta=json.dumps(META).encode(),
                            payload=_tar_bytes(_gnu_sparse_member("weights.bin", 6 << 30)), artifacts={},
                            kind="bundle")
    path = tmp_path / f"sparse-{where}.flm"
    path.write_bytes(data)
    assert len(data) < 4096
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="sparse .* member .* decompresses to more than"):
            flm.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20


def test_declared_zstd_bomb_is_refused_before_decompressing(tmp_path: Path) -> None:
    import zstandard

    out = io.BytesIO()
    size = 3 << 30
    with zstandard.ZstdCompressor(level=1).stream_writer(out, size=size, closefd=False) as writer:
        zeros = bytes(4 << 20)
        for _ in range(size // len(zeros)):
            writer.write(zeros)
    # the bomb in the model section, compressed with zstd
    model_sec = bytes([4, 0]) + out.getvalue()
    meta_sec = b"\xff" + json.dumps(META).encode()
    art_sec = b"\xff" + binary.COUNT.pack(0)
    body = binary.P2_BODY.pack(len(meta_sec), len(art_sec), len(model_sec)) + meta_sec + art_sec + model_sec
    data = binary.HEADER.pack(2, 4, len(body)) + body
    path = tmp_path / "bomb.flm"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="decompresses to more than"):
            flm.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20  # refused from the frame header: nothing was produced, let alone the budget


def test_undeclared_bomb_costs_no_more_than_the_budget(tmp_path: Path) -> None:
    import zstandard

    # no content size in the frame (as Flama writes): refused once the budget is used, memory ~ the budget
    bomb = zstandard.ZstdCompressor(level=1, write_content_size=False).compress(bytes(64 << 20))
    model_sec = bytes([4, 0]) + bomb
    meta_sec = b"\xff" + json.dumps(META).encode()
    art_sec = b"\xff" + binary.COUNT.pack(0)
    body = binary.P2_BODY.pack(len(meta_sec), len(art_sec), len(model_sec)) + meta_sec + art_sec + model_sec
    data = binary.HEADER.pack(2, 4, len(body)) + body
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="decompresses to more than"):
            flm.loads(data, max_size=32 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20  # the 32 MiB produced before the refusal, once (not twice, as chunks plus their join)


LEGACY_SECOND_MEMBERS = {
    "gzip": lambda tar, extra: gzip.compress(tar) + gzip.compress(extra),
    "bz2": lambda tar, extra: bz2.compress(tar) + bz2.compress(extra),
    "lzma": lambda tar, extra: lzma.compress(tar) + lzma.compress(extra),
}


@pytest.mark.parametrize("codec", sorted(LEGACY_SECOND_MEMBERS))
def test_legacy_stream_with_a_second_member_is_refused(tmp_path: Path, codec: str) -> None:
    hidden = tarfile.TarInfo("artifacts/../evil.txt")
    hidden.size = 4
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:") as archive:
        archive.addfile(hidden, io.BytesIO(b"evil"))
    tar = _legacy_tar()
    path = tmp_path / "two-members.flm"
    path.write_bytes(LEGACY_SECOND_MEMBERS[codec](tar, out.getvalue()))
    with pytest.raises(ModelFileError, match="unexpected bytes after the end of the"):
        flm.load(path)
    # the first member alone is a readable model: the refusal is about the second one
    single = tmp_path / "one-member.flm"
    single.write_bytes({"gzip": gzip.compress, "bz2": bz2.compress, "lzma": lzma.compress}[codec](tar))
    assert flm.load(single).meta["id"] == META["id"]


def test_bare_zlib_with_trailing_bytes_is_refused(tmp_path: Path) -> None:
    doc = zlib.compress(json.dumps({"model": PAYLOAD.decode(), "meta": META}).encode())
    path = tmp_path / "bare.flm"
    path.write_bytes(doc + zlib.compress(b"more"))
    with pytest.raises(ModelFileError, match="unexpected bytes"):
        flm.load(path)


def test_written_files_carry_a_checksum_and_a_flipped_bit_is_caught(tmp_path: Path) -> None:
    import zstandard

    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
    path = tmp_path / "m.flm"
    flm.dump(model, path)
    loaded = flm.load(path)
    assert loaded.checksummed
    data = bytearray(path.read_bytes())
    body = memoryview(data)[binary.HEADER.size:]
    meta_size, artifacts_size, _ = binary.P2_BODY.unpack_from(body)
    model_start = binary.HEADER.size + binary.P2_BODY.size + meta_size + artifacts_size + 2
    assert zstandard.get_frame_parameters(bytes(data[model_start:model_start + 18])).has_checksum
    data[len(data) - 10] ^= 0x01  # one bit inside the model frame
    flipped = tmp_path / "flipped.flm"
    flipped.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="model section: corrupt zstd data"):
        flm.load(flipped)
    corpus = Path(__file__).resolve().parents[1] / "data" / "flm-corpus" / "flama-2.2.2_churn_zstd_p2.flm"
    assert not flm.load(corpus).checksummed


def _odd_meta(tmp_path: Path) -> Path:
    deep: object = "bottom"
    for _ in range(400):
        deep = [deep]
    meta = {**META, "capabilities": "llm-ish", "extra": "just a string",
            "model": {**META["model"], "params": [1, 2, 3], "metrics": {"nested": deep, "nan": float("nan")}}}
    text = json.dumps(meta).encode()
    path = tmp_path / "odd.flm"
    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
    import base64
    import pickle

    payload = base64.encodebytes(pickle.dumps(model, protocol=4))
    path.write_bytes(binary.build(protocol=2, compression="zstd", meta=text, payload=payload,
                                  artifacts={"\x1b[31mred\x1b[0m": b"1", "forged\nid  0000": b"2",
                                             "[bold red]markup[not closed": b"3"}))
    return path


def test_odd_metadata_is_shown_by_inspect_json_and_serve(tmp_path: Path) -> None:
    path = _odd_meta(tmp_path)
    result = CliRunner().invoke(cli, ["inspect", "--json", str(path)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["meta"]["extra"] == "just a string"
    assert document["meta"]["model"]["params"] == [1, 2, 3]
    assert document["meta"]["capabilities"] == "llm-ish"
    import asyncio

    import httpx

    from flmcli.predictor import Predictor
    from flmcli.serve.app import create_app

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(Predictor.from_path(str(path))))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get("/")

    response = asyncio.run(get())
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["model"]["params"] == [1, 2, 3]


def test_terminal_summary_escapes_control_characters_and_markup(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from flmcli.cli import summary

    model = flm.load(_odd_meta(tmp_path))
    summary.show(model, model.inspect(), audit=False)
    shown = capsys.readouterr().out
    assert "\x1b" not in shown
    assert "\\x1b[31mred" in shown
    assert "forged\\nid" in shown and "\nid  0000" not in shown
    assert "[bold red]markup[not closed" in shown
    assert "params" in shown and "extra" in shown and "llm-ish" in shown
    assert "checksum" in shown
