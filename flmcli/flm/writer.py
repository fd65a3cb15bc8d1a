"""`dump`: write a scikit-learn model as an FLM file that Flama 2.x (and, in protocol 1, 1.12) reads."""

from __future__ import annotations

import datetime
import json
import math
import os
import pathlib
import uuid
from collections.abc import Mapping
from typing import IO, Any

from ..atomic import atomic_write
from . import binary
from .codecs import CODEC_NUMBERS
from .model import installed_version
from .names import is_plain_name
from .payload import encode_sklearn

FOREIGN_FRAMEWORKS = ("torch", "tensorflow", "keras", "transformers")
# Metadata nested deeper is refused when written: Python's json, which Flama and flm read the meta with, stops near
# 1,000 levels less the reader's own stack (990 at the top level here; flm's loader refuses a meta it cannot read),
# and its writer near 1,000 (pack crashed with 'unexpected RecursionError' on a --params nested 980 deep).
MAX_META_DEPTH = 512


def _info(value: Any) -> Any:
    """Flama 1.5+ `model.info` walk: JSON scalars kept, NaN -> null, containers walked, the rest null."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _info(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_info(item) for item in value]
    return None


def _nests_deeper(value: Any, limit: int) -> bool:
    """Whether `value` holds a dict or list more than `limit` levels deep (itself the first); no recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def model_info(model: Any) -> Any:
    try:
        return _info(model.get_params())
    except Exception:  # noqa: BLE001 - Flama stores null when get_params fails
        return None


def _timestamp(value: datetime.datetime | str | None) -> str:
    if value is None:
        return datetime.datetime.now().isoformat()
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    datetime.datetime.fromisoformat(value)  # raises ValueError for a string no Flama can read back
    return value


def build_meta(model: Any, *, model_id: str | uuid.UUID | None, timestamp: datetime.datetime | str | None,
               params: Mapping[str, Any] | None, metrics: Mapping[str, Any] | None,
               extra: Mapping[str, Any] | None) -> dict[str, Any]:
    for label, value in (("params", params), ("metrics", metrics), ("extra", extra)):
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(f"{label} must be a dict or None, not {type(value).__name__}")
    version = installed_version("sklearn")
    if version is None:
        raise RuntimeError("scikit-learn is not installed; its version must be recorded in the file")
    return {
        "id": str(model_id) if model_id is not None else str(uuid.uuid4()),
        "timestamp": _timestamp(timestamp),
        "framework": {"family": "ml", "lib": "sklearn", "version": version, "config": None},
        "model": {
            "obj": model.__name__ if isinstance(model, type) else type(model).__name__,
            "info": model_info(model),
            "params": dict(params) if params is not None else None,
            "metrics": dict(metrics) if metrics is not None else None,
        },
        "extra": dict(extra) if extra is not None else None,
        "capabilities": {"kind": "ml"},
    }


def _read_artifacts(artifacts: Mapping[str, str | os.PathLike[str] | bytes] | None) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    for name, source in (artifacts or {}).items():
        if not isinstance(name, str) or not is_plain_name(name):
            raise ValueError(f"{name!r} is not a safe artifact name (it must be a single plain file name)")
        if isinstance(source, bytes | bytearray | memoryview):
            contents[name] = bytes(source)
        else:
            file = pathlib.Path(source)
            if not file.is_file():
                raise ValueError(f"artifact {name!r}: {file} is not a file")
            contents[name] = file.read_bytes()
    return contents


def dumps(model: Any, *, model_id: str | uuid.UUID | None = None, timestamp: datetime.datetime | str | None = None,
          params: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
          extra: Mapping[str, Any] | None = None,
          artifacts: Mapping[str, str | os.PathLike[str] | bytes] | None = None,
          compression: str = "zstd", protocol: int = 2, meta_compression: str | None = "inherit",
          artifact_compression: str | None = "inherit", model_compression: str | None = "inherit") -> bytes:
    """The bytes of an FLM file for `model`; see `dump`."""
    root = type(model).__module__.split(".")[0]
    if root in FOREIGN_FRAMEWORKS:
        raise ValueError(f"flm can only write scikit-learn models, not {root} ones")
    if compression not in CODEC_NUMBERS:
        raise ValueError(f"unknown compression {compression!r}; expected one of {', '.join(CODEC_NUMBERS)}")
    if protocol == 1 and (meta_compression, artifact_compression, model_compression) != ("inherit",) * 3:
        raise ValueError("per-section compression needs protocol 2")
    meta = build_meta(model, model_id=model_id, timestamp=timestamp, params=params, metrics=metrics, extra=extra)
    for label, value in (("params", params), ("metrics", metrics), ("extra", extra)):
        if _nests_deeper(value, MAX_META_DEPTH):
            raise ValueError(f"cannot write the metadata: {label} nests deeper than {MAX_META_DEPTH} levels, "
                             "more than JSON readers are sure to read")
    # Flama 2.x refuses NaN / Infinity: they are not JSON and strict readers reject them
    try:
        meta_text = json.dumps(meta, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"cannot write the metadata: {exc} (NaN or Infinity in params, metrics or extra)") from None
    return binary.build(
        protocol=protocol, compression=compression, meta=meta_text.encode("utf-8"), payload=encode_sklearn(model),
        artifacts=_read_artifacts(artifacts), meta_compression=meta_compression,
        artifact_compression=artifact_compression, model_compression=model_compression,
    )


def dump(model: Any, path: str | os.PathLike[str] | IO[bytes], *, model_id: str | uuid.UUID | None = None,
         timestamp: datetime.datetime | str | None = None, params: Mapping[str, Any] | None = None,
         metrics: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None,
         artifacts: Mapping[str, str | os.PathLike[str] | bytes] | None = None, compression: str = "zstd",
         protocol: int = 2, meta_compression: str | None = "inherit", artifact_compression: str | None = "inherit",
         model_compression: str | None = "inherit") -> None:
    """Write `model` to `path` as Flama 2.x would (protocol 2, zstd by default).

    `artifacts` maps names to file paths (as in Flama) or bytes. Section compressions take a
    codec name, "inherit" (the file codec) or None (stored raw). A path is written atomically.
    """
    data = dumps(model, model_id=model_id, timestamp=timestamp, params=params, metrics=metrics, extra=extra,
                 artifacts=artifacts, compression=compression, protocol=protocol, meta_compression=meta_compression,
                 artifact_compression=artifact_compression, model_compression=model_compression)
    if isinstance(path, str | os.PathLike):
        with atomic_write(path) as out:
            out.write(data)
    else:
        path.write(data)
