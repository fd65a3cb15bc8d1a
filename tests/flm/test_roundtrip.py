"""dump then load: every codec and protocol, per-section codecs, and atomic writes."""

from __future__ import annotations

import datetime
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import flmcli.flm as flm
from flmcli.flm.binary import HEADER


@pytest.fixture(scope="module")
def fitted() -> tuple[Pipeline, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    model = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))]).fit(X, y)
    return model, X[::10]


@pytest.mark.parametrize("protocol", [1, 2])
@pytest.mark.parametrize("compression", ["bz2", "lzma", "zlib", "zstd"])
def test_round_trip(tmp_path: Path, fitted: tuple[Pipeline, np.ndarray], protocol: int, compression: str) -> None:
    model, X = fitted
    artifact = tmp_path / "labels.json"
    artifact.write_text('{"0": "setosa"}')
    target = tmp_path / "model.flm"
    flm.dump(model, target, protocol=protocol, compression=compression, model_id="m-1",
             timestamp=datetime.datetime(2024, 1, 2, 3, 4, 5), params={"max_iter": 500}, metrics={"acc": 0.97},
             extra={"note": "ünïcödé"}, artifacts={"labels.json": artifact, "raw.bin": b"\x00\xff"})
    data = target.read_bytes()
    assert HEADER.unpack_from(data)[:2] == (protocol, {"bz2": 1, "lzma": 2, "zlib": 3, "zstd": 4}[compression])
    assert HEADER.unpack_from(data)[2] == len(data) - 16
    loaded = flm.load(target)
    assert (loaded.layout, loaded.protocol, loaded.compression) == ("binary", protocol, compression)
    assert loaded.id == "m-1" and loaded.timestamp == "2024-01-02T03:04:05"
    assert loaded.framework["family"] == "ml" and loaded.lib == "sklearn"
    assert loaded.obj == "Pipeline"
    assert (loaded.params, loaded.metrics, loaded.extra) == ({"max_iter": 500}, {"acc": 0.97}, {"note": "ünïcödé"})
    assert loaded.capabilities == {"kind": "ml"}
    assert loaded.artifacts == {"labels.json": b'{"0": "setosa"}', "raw.bin": b"\x00\xff"}
    assert loaded.estimator.predict_proba(X).tolist() == model.predict_proba(X).tolist()


def test_meta_is_flama_2_style(tmp_path: Path, fitted: tuple[Pipeline, np.ndarray]) -> None:
    model, _ = fitted
    flm.dump(model, tmp_path / "m.flm", compression="zlib", model_compression=None, meta_compression=None)
    raw = (tmp_path / "m.flm").read_bytes()
    meta_size = struct.unpack_from("!Q", raw, 16)[0]
    text = raw[16 + 24 + 1 : 16 + 24 + meta_size].decode()
    assert text.startswith('{"id":"') and ", " not in text.split('"info"')[0]
    meta = json.loads(text)
    assert list(meta) == ["id", "timestamp", "framework", "model", "extra", "capabilities"]
    assert list(meta["framework"]) == ["family", "lib", "version", "config"]
    # nested estimators of a Pipeline become null (Flama 1.5+), plain params stay
    info = meta["model"]["info"]
    assert info["clf"] is None and info["scale"] is None and info["clf__max_iter"] == 500
    datetime.datetime.fromisoformat(meta["timestamp"])


def test_info_nan_becomes_null() -> None:
    from flmcli.flm.writer import _info

    assert _info({"a": math.nan, "b": [1, (2.5, object())]}) == {"a": None, "b": [1, [2.5, None]]}


@pytest.mark.parametrize(
    ("meta_c", "art_c", "model_c", "bytes_"),
    [(None, "zlib", "bz2", (0xFF, 0x03, 0x01)), ("inherit", "inherit", "inherit", (0, 0, 0)),
     ("lzma", None, "zstd", (0x02, 0xFF, 0x04))],
)
def test_section_codecs(tmp_path: Path, fitted: tuple[Pipeline, np.ndarray], meta_c: str | None, art_c: str | None,
                        model_c: str | None, bytes_: tuple[int, int, int]) -> None:
    model, X = fitted
    target = tmp_path / "m.flm"
    flm.dump(model, target, meta_compression=meta_c, artifact_compression=art_c, model_compression=model_c,
             artifacts={"a.txt": b"hello"})
    raw = target.read_bytes()
    meta_size, art_size, _ = struct.unpack_from("!QQQ", raw, 16)
    base = 16 + 24
    assert (raw[base], raw[base + meta_size], raw[base + meta_size + art_size]) == bytes_
    loaded = flm.load(target)
    assert loaded.artifacts == {"a.txt": b"hello"}
    assert loaded.estimator.predict(X).tolist() == model.predict(X).tolist()


def test_lzma_is_lzma_alone_for_flama_2(tmp_path: Path, fitted: tuple[Pipeline, np.ndarray]) -> None:
    model, _ = fitted
    flm.dump(model, tmp_path / "m.flm", compression="lzma")
    raw = (tmp_path / "m.flm").read_bytes()
    assert raw[16 + 24 + 1] == 0x5D  # LZMA-alone properties byte, not the .xz magic FD 37 7A ...


def test_refuses_non_finite_and_unsafe_names(tmp_path: Path, fitted: tuple[Pipeline, np.ndarray]) -> None:
    model, _ = fitted
    with pytest.raises(ValueError, match="NaN or Infinity"):
        flm.dump(model, tmp_path / "a.flm", metrics={"x": math.inf})
    for bad in ("../evil.txt", "a/b", "a\\b", "..", "", "C:x"):
        with pytest.raises(ValueError, match="not a safe artifact name"):
            flm.dump(model, tmp_path / "a.flm", artifacts={bad: b"x"})
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path, fitted: tuple[Pipeline, np.ndarray]) -> None:
    model, _ = fitted
    target = tmp_path / "m.flm"
    flm.dump(model, target)
    before = target.read_bytes()

    class Unpicklable:
        def __reduce__(self) -> tuple:
            raise RuntimeError("cannot pickle me")

    with pytest.raises(RuntimeError, match="cannot pickle me"):
        flm.dump(Unpicklable(), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.flm"]


def test_atomic_write_failure_leaves_no_temp_file(tmp_path: Path, fitted: tuple[Pipeline, np.ndarray],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    model, _ = fitted
    import flmcli.flm.writer as writer

    def boom(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(writer.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        flm.dump(model, tmp_path / "m.flm")
    assert list(tmp_path.iterdir()) == []


def test_non_ascii_artifact_name_written_with_byte_length(tmp_path: Path, fitted: tuple[Pipeline, np.ndarray]) -> None:
    model, _ = fitted
    flm.dump(model, tmp_path / "m.flm", artifacts={"café.json": b"{}"}, compression="zlib")
    raw = (tmp_path / "m.flm").read_bytes()
    assert "café.json".encode() in raw and struct.pack("!I", len("café.json".encode())) in raw
    assert flm.load(tmp_path / "m.flm").artifacts == {"café.json": b"{}"}


def test_default_id_and_timestamp(tmp_path: Path, fitted: tuple[Pipeline, np.ndarray]) -> None:
    import uuid

    model, _ = fitted
    flm.dump(model, tmp_path / "m.flm")
    loaded = flm.load(tmp_path / "m.flm")
    assert str(uuid.UUID(loaded.id)) == loaded.id
    assert datetime.datetime.fromisoformat(loaded.timestamp).tzinfo is None


def test_dump_into_a_missing_folder_fails_like_open_and_creates_nothing(
        tmp_path: Path, fitted: tuple[Pipeline, np.ndarray]) -> None:
    model, _ = fitted
    target = tmp_path / "missing" / "m.flm"
    with pytest.raises(FileNotFoundError) as raised:
        flm.dump(model, target)
    assert raised.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []
