"""The FLM file format: `load` any file a Flama release wrote, `dump` files Flama 2.x reads.

Nothing here imports scikit-learn or numpy until a model is actually unpickled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import IO, Any

from ..errors import ModelFileError
from . import binary, codecs, legacy
from .model import FrameworkVersionWarning, ModelFile
from .payload import bundle_files, sklearn_pickle
from .trust import Import, audit
from .writer import dump, dumps

__all__ = ["FrameworkVersionWarning", "Import", "ModelFile", "audit", "dump", "dumps", "load", "loads"]


def _check_meta(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise ModelFileError("metadata is not a JSON object")
    for key in ("id", "timestamp", "framework", "model"):
        if key not in meta:
            raise ModelFileError(f"metadata lacks the required key {key!r}")
    for key in ("id", "timestamp"):
        if not isinstance(meta[key], str):
            raise ModelFileError(f"metadata {key!r} is not a string")
    if not isinstance(meta["framework"], dict) or not {"lib", "version"} <= meta["framework"].keys():
        raise ModelFileError("metadata 'framework' lacks 'lib' or 'version'")
    if not isinstance(meta["model"], dict) or "obj" not in meta["model"]:
        raise ModelFileError("metadata 'model' lacks 'obj'")
    return meta


def _parse_meta(raw: bytes) -> dict[str, Any]:
    try:
        # 1.x writers emit NaN / Infinity tokens; json accepts them as Flama's readers do
        return _check_meta(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"meta section is not valid UTF-8 JSON ({type(exc).__name__}: {exc})") from None


def loads(data: bytes, *, path: str | None = None, trust: Iterable[str] = (), trust_all: bool = False,
          max_size: int | None = None) -> ModelFile:
    """Read an FLM file held in memory; see `load`."""
    budget = codecs.Budget(max_size if max_size is not None else codecs.MAX_DECOMPRESSED_BYTES)
    try:
        return _read(data, path, tuple(trust), trust_all, budget)
    except ModelFileError as exc:
        if exc.path is None and path is not None:
            raise ModelFileError(exc.message, path=path, hint=exc.hint) from None
        raise


def _is_binary(head: bytes) -> bool:
    """docs/format.md §9: binary first; a leading u32 below 256 can only be a (possibly broken) binary header.
    `head`: the first 512 bytes (fewer only when that is the whole file)."""
    return binary.looks_binary(head) or head[:3] == b"\x00\x00\x00" or (
        len(head) < 16 and legacy.tar_codec(head) is None and not legacy.looks_bare_zlib(head))


def _read(data: bytes, path: str | None, trust: tuple[str, ...], trust_all: bool, budget: codecs.Budget) -> ModelFile:
    head = data[:512]
    tar_codec = legacy.tar_codec(head)
    if _is_binary(head):
        parsed = binary.parse(data, budget=budget)
        meta = _parse_meta(parsed.meta)
        lib = meta["framework"]["lib"]
        is_pickle = parsed.kind == "binary" and lib == "sklearn"
        return ModelFile(
            path=path, layout="binary", protocol=parsed.protocol, compression=parsed.compression, meta=meta,
            payload=sklearn_pickle(parsed.payload) if is_pickle else parsed.payload, artifacts=parsed.artifacts,
            kind=parsed.kind, bundle_files=bundle_files(parsed.payload, budget) if parsed.kind == "bundle" else None,
            section_codecs=parsed.section_codecs, trust=trust, trust_all=trust_all,
            checksummed=all(parsed.checksums.values()),
        )
    if tar_codec is not None:
        old = legacy.parse_tar(data, tar_codec, budget=budget)
    elif legacy.looks_bare_zlib(head):
        old = legacy.parse_bare(data, budget=budget)
    else:
        raise ModelFileError(f"not an FLM model file (it starts with bytes {data[:4].hex(' ')})")
    meta = _check_meta(old.meta)
    payload = sklearn_pickle(old.payload) if meta["framework"]["lib"] == "sklearn" else old.payload
    return ModelFile(path=path, layout=old.layout, protocol=None, compression=old.compression, meta=meta,
                     payload=payload, artifacts=old.artifacts, trust=trust, trust_all=trust_all,
                     checksummed=True)  # gzip, bz2, xz and zlib streams all carry a checksum


# Bytes of a model file beyond what it may decompress to: headers, tar blocks, a stored (uncompressed) section's
# framing. A file larger than its budget plus this cannot be one flm reads.
_FRAMING = 1 << 20


def _read_bounded(handle: IO[bytes], limit: int) -> bytes:
    """The bytes of a model file, judged by its first ones before the rest is read, and never more than `limit`
    (what a model file may hold): a path can name /dev/zero, /dev/urandom or a FIFO that never ends."""
    head = b""
    while len(head) < 512 and (more := handle.read(512 - len(head))):  # a raw stream may answer short
        head += more
    wanted = limit
    if _is_binary(head):
        if not binary.looks_binary(head):
            binary.parse(head, budget=codecs.Budget())  # the header's own error: protocol, codec, truncation
        elif len(head) >= binary.HEADER.size:
            # The header says how long the body is; one byte more tells trailing bytes from the end of the file.
            wanted = min(limit, binary.HEADER.size + binary.HEADER.unpack_from(head)[2] + 1)
    elif legacy.tar_codec(head) is None and not legacy.looks_bare_zlib(head):
        raise ModelFileError(f"not an FLM model file (it starts with bytes {head[:4].hex(' ')})")
    if _regular_size(handle) <= wanted:
        return head + handle.read()  # a file of known, acceptable size: one read, no copies
    parts = [head]
    size = len(head)
    while size < wanted and (part := handle.read(min(1 << 20, wanted - size))):  # read(n) allocates n at once
        parts.append(part)
        size += len(part)
    data = b"".join(parts)
    if len(data) >= limit and handle.read(1):
        raise ModelFileError(f"the file is larger than {limit} bytes, more than any model file flm reads")
    return data


def _regular_size(handle: IO[bytes]) -> int:
    """The size of the regular file behind `handle`, or a size no limit allows (a pipe, a device, memory)."""
    import stat

    try:
        status = os.fstat(handle.fileno())
    except (OSError, ValueError, AttributeError):
        return 1 << 62
    return status.st_size if stat.S_ISREG(status.st_mode) else 1 << 62


def load(source: str | os.PathLike[str] | IO[bytes], *, trust: Iterable[str] = (), trust_all: bool = False,
         max_size: int | None = None) -> ModelFile:
    """Read and check an FLM file written by any Flama release (1.0 – 2.2).

    Metadata and artifacts are read at once; the model is unpickled on first use of
    `.estimator`, allowing only the built-in allow-list plus `trust` (exact names like
    "mymod.MyClass"), or anything with `trust_all=True`. `max_size` bounds the
    total decompressed bytes (default `codecs.MAX_DECOMPRESSED_BYTES`).
    """
    path: str | None
    limit = (max_size if max_size is not None else codecs.MAX_DECOMPRESSED_BYTES) + _FRAMING
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        try:
            with open(source, "rb") as handle:
                data = _read_bounded(handle, limit)
        except OSError as exc:
            raise ModelFileError(f"cannot read the model file: {exc.strerror or exc}", path=path) from None
        except ModelFileError as exc:
            raise ModelFileError(exc.message, path=path, hint=exc.hint) from None
    else:
        name = getattr(source, "name", None)
        path = name if isinstance(name, str) else None
        try:
            data = _read_bounded(source, limit)
        except ModelFileError as exc:
            raise ModelFileError(exc.message, path=path, hint=exc.hint) from None
    return loads(data, path=path, trust=trust, trust_all=trust_all, max_size=max_size)
