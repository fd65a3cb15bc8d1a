"""Crafted hostile files: traversal, absolute and link members, lying sizes, decompression bombs."""

from __future__ import annotations

import bz2
import io
import json
import struct
import tarfile
import zlib
from pathlib import Path

import pytest
import zstandard

import flmcli.flm as flm
from flmcli.errors import ModelFileError
from flmcli.flm import binary

META = json.dumps({
    "id": "x", "timestamp": "2024-01-02T03:04:05", "framework": {"lib": "sklearn", "version": "1.9.1"},
    "model": {"obj": "X", "info": None, "params": None, "metrics": None}, "extra": None,
}).encode()
PAYLOAD = b"gAR9lC4=\n"  # base64 of pickle.dumps({}, protocol=4)


def _write(tmp_path: Path, data: bytes) -> Path:
    target = tmp_path / "crafted.flm"
    target.write_bytes(data)
    return target


def _refused(tmp_path: Path, data: bytes, words: str, **kwargs: object) -> str:
    with pytest.raises(ModelFileError) as caught:
        flm.load(_write(tmp_path, data), **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert words in message
    assert "\n" not in message
    return message


def _tar(members: list[tarfile.TarInfo | tuple[str, bytes]], compression: str = "bz2") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                archive.addfile(info, io.BytesIO(member[1]))
    return buffer.getvalue()


def _model_doc() -> bytes:
    return zlib.compress(json.dumps({"model": PAYLOAD.decode(), "meta": json.loads(META)}).encode())


def test_valid_crafted_files_load(tmp_path: Path) -> None:
    # the helpers above build files flm accepts, so each refusal below is about its one defect
    assert flm.load(_write(tmp_path, _tar([("artifacts/a.txt", b"a"), ("model", _model_doc())]))).artifacts == {
        "a.txt": b"a"}
    good = binary.build(protocol=2, compression="zstd", meta=META, payload=PAYLOAD, artifacts={"a.txt": b"a"})
    assert flm.load(_write(tmp_path, good)).estimator == {}


@pytest.mark.parametrize(
    ("name", "words"),
    [("artifacts/../../etc/passwd", "'..' component"), ("/etc/passwd", "absolute path"),
     ("artifacts/sub/deep.txt", "not a plain file name"), ("../model", "'..' component")],
)
def test_tar_member_names_refused(tmp_path: Path, name: str, words: str) -> None:
    data = _tar([(name, b"x"), ("model", _model_doc())])
    _refused(tmp_path, data, words)
    assert not (tmp_path.parent / "passwd").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_tar_links_and_devices_refused(tmp_path: Path, kind: bytes) -> None:
    link = tarfile.TarInfo("artifacts/link")
    link.type = kind
    link.linkname = "/etc/passwd"
    _refused(tmp_path, _tar([link, ("model", _model_doc())]), "link or device")


def test_tar_empty_model_member(tmp_path: Path) -> None:
    _refused(tmp_path, _tar([("model", b"")], "gz"), "empty 'model' member — a known defect")


@pytest.mark.parametrize("name", ["../evil.txt", "/abs.txt", "a/b.txt", "..", "C:evil", "a\\b"])
def test_binary_artifact_names_refused(tmp_path: Path, name: str) -> None:
    for protocol in (1, 2):
        data = binary.build(protocol=protocol, compression="zlib", meta=META, payload=PAYLOAD, artifacts={name: b"x"})
        _refused(tmp_path, data, f"unsafe artifact name {name!r}")


def test_oversized_declared_sizes_refused(tmp_path: Path) -> None:
    good = bytearray(binary.build(protocol=2, compression="zstd", meta=META, payload=PAYLOAD, artifacts={}))
    huge = bytearray(good)
    struct.pack_into("!Q", huge, 16 + 16, 2**63)  # model_size
    _refused(tmp_path, bytes(huge), "file is truncated: the model section declares")
    body = bytearray(good)
    struct.pack_into("!Q", body, 8, 2**40)
    _refused(tmp_path, bytes(body), "body_size is 1099511627776")
    count = bytearray(good)
    meta_size = struct.unpack_from("!Q", good, 16)[0]
    struct.pack_into("!I", count, 16 + 24 + meta_size + 1, 10**9)  # artifacts count
    _refused(tmp_path, bytes(count), "1000000000 entries declared")
    p1 = bytearray(binary.build(protocol=1, compression="zlib", meta=META, payload=PAYLOAD, artifacts={"a": b"b"}))
    meta_len, model_len = struct.unpack_from("!QQ", p1, 16)
    struct.pack_into("!Q", p1, 16 + 28 + meta_len + model_len + 4, 2**62)  # content_size of the artifact
    _refused(tmp_path, bytes(p1), "artifacts section is corrupt")


def test_trailing_bytes_refused(tmp_path: Path) -> None:
    good = binary.build(protocol=1, compression="bz2", meta=META, payload=PAYLOAD, artifacts={})
    padded = bytearray(good + b"\0" * 7)
    struct.pack_into("!Q", padded, 8, len(padded) - 16)
    _refused(tmp_path, bytes(padded), "7 unexpected bytes after the last section")


def test_unknown_section_codec_and_kind_refused(tmp_path: Path) -> None:
    good = bytearray(binary.build(protocol=2, compression="zstd", meta=META, payload=PAYLOAD, artifacts={}))
    bad_codec = bytearray(good)
    bad_codec[16 + 24] = 0x09
    _refused(tmp_path, bytes(bad_codec), "meta section: unknown compression byte 0x09")
    bad_kind = bytearray(good)
    meta_size, art_size, _ = struct.unpack_from("!QQQ", good, 16)
    bad_kind[16 + 24 + meta_size + art_size + 1] = 0x02
    _refused(tmp_path, bytes(bad_kind), "unknown model kind byte 0x02")


@pytest.mark.parametrize("codec", ["zstd", "zlib", "bz2", "lzma"])
def test_decompression_bomb_refused(tmp_path: Path, codec: str) -> None:
    bomb = b"\0" * (8 << 20)  # 8 MiB of zeros compresses to a few KiB
    data = binary.build(protocol=2, compression=codec, meta=META, payload=PAYLOAD, artifacts={"bomb.bin": bomb})
    assert len(data) < 64 << 10
    _refused(tmp_path, data, "possible decompression bomb", max_size=1 << 20)
    assert flm.load(_write(tmp_path, data), max_size=16 << 20).artifacts["bomb.bin"] == bomb


def test_zstd_bomb_without_content_size_refused(tmp_path: Path) -> None:
    # a frame that hides its size, as Flama 2.x writes them: only streaming with a bound stops it
    frame = zstandard.ZstdCompressor(write_content_size=False).compress(b"A" * (32 << 20))
    meta = bytes([0x00]) + zstandard.ZstdCompressor().compress(META)
    arts = bytes([0x00]) + struct.pack("!I", 0)
    model = bytes([0x00, 0x00]) + frame
    body = struct.pack("!QQQ", len(meta), len(arts), len(model)) + meta + arts + model
    data = struct.pack("!IIQ", 2, 4, len(body)) + body
    _refused(tmp_path, data, "model section decompresses to more than 4194304 bytes", max_size=4 << 20)


def test_legacy_tar_bomb_refused(tmp_path: Path) -> None:
    data = _tar([("artifacts/zeros", b"\0" * (8 << 20)), ("model", _model_doc())])
    assert len(data) < 64 << 10
    _refused(tmp_path, data, "possible decompression bomb", max_size=1 << 20)


def test_bare_zlib_bomb_refused(tmp_path: Path) -> None:
    _refused(tmp_path, zlib.compress(b" " * (8 << 20)), "possible decompression bomb", max_size=1 << 20)


def test_not_an_flm_file(tmp_path: Path) -> None:
    _refused(tmp_path, b"PK\x03\x04 definitely a zip", "not an FLM model file")
    _refused(tmp_path, bz2.compress(b"not a tar at all" * 100), "corrupt tar archive")


def test_missing_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read the model file"):
        flm.load(tmp_path / "nope.flm")


def test_hostile_meta_json_refused(tmp_path: Path) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for meta, words in ((deep, "meta section is not valid UTF-8 JSON"), (b"\xff\xfe", "not valid UTF-8 JSON"),
                        (b'{"id": 1}', "lacks the required key 'timestamp'"), (b"[]", "not a JSON object")):
        data = binary.build(protocol=2, compression="zlib", meta=meta, payload=PAYLOAD, artifacts={})
        _refused(tmp_path, data, words)
