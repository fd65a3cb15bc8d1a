"""Flama 1.0 – 1.11 layouts: A (one bare zlib stream) and B (compressed tar).

Tar archives are read from memory and never extracted: every member name and type is
checked, so a crafted archive cannot write anything anywhere.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any

from ..errors import ModelFileError
from .codecs import Budget, decompress
from .names import check_member_path, is_plain_name

TAR_CODECS = (("bz2", b"BZh"), ("gzip", b"\x1f\x8b"), ("lzma", b"\xfd7zXZ\x00"))
TAR_NAMES = {"bz2": "bz2", "gzip": "gz", "lzma": "xz", "none": "tar"}


@dataclass
class LegacyFile:
    layout: str  # "bare-zlib" | "tar"
    compression: str
    meta: dict[str, Any]
    payload: bytes
    artifacts: dict[str, bytes] = field(default_factory=dict)


def tar_codec(head: bytes) -> str | None:
    """The tar compression a file starts with (docs/format.md §9 rule 2), or None."""
    for codec, magic in TAR_CODECS:
        if head.startswith(magic):
            return codec
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "none"
    return None


def looks_bare_zlib(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x78 and head[1] in (0x01, 0x5E, 0x9C, 0xDA)


def _document(raw: bytes, what: str) -> tuple[dict[str, Any], bytes]:
    """Parse the `{"model": payload, "meta": {...}}` document of both legacy layouts."""
    try:
        # 1.x wrote json.dumps defaults, so NaN / Infinity tokens may appear; json accepts them
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{what} is not a valid JSON document ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("model"), str) or not isinstance(doc.get("meta"), dict):
        raise ModelFileError(f"{what} lacks the 'model' string and 'meta' object of a Flama model document")
    return doc["meta"], doc["model"].encode("utf-8")


def parse_bare(data: bytes, *, budget: Budget) -> LegacyFile:
    raw = decompress("zlib", data, budget=budget, what="zlib model document")
    meta, payload = _document(raw, "zlib model document")
    return LegacyFile(layout="bare-zlib", compression="zlib", meta=meta, payload=payload)


def parse_tar(data: bytes, codec: str, *, budget: Budget) -> LegacyFile:
    raw = decompress(codec, data, budget=budget, what=f"{TAR_NAMES[codec]} tar archive")
    artifacts: dict[str, bytes] = {}
    model: bytes | None = None
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            for member in archive:
                name = member.name
                problem = check_member_path(name)
                if problem:
                    raise ModelFileError(f"tar member {name!r} {problem}; refusing the archive")
                if not (member.isfile() or member.isdir()):
                    raise ModelFileError(f"tar member {name!r} is a link or device, which a model file never holds")
                if member.isdir():
                    if name.rstrip("/") in ("artifacts", "."):
                        continue
                    raise ModelFileError(f"tar member {name!r}: directory artifacts are not supported")
                if member.issparse():
                    # a GNU sparse member expands to its declared size from a few bytes: count it first
                    budget.take(member.size, f"sparse tar member {name!r}")
                if name == "model":
                    model = _read(archive, member)
                elif name.startswith("artifacts/"):
                    artifact = name[len("artifacts/") :]
                    if not is_plain_name(artifact):
                        raise ModelFileError(f"tar member {name!r}: artifact name {artifact!r} is not a plain file name")
                    if artifact in artifacts:
                        raise ModelFileError(f"tar member {name!r} appears twice")
                    artifacts[artifact] = _read(archive, member)
                else:
                    raise ModelFileError(f"unexpected tar member {name!r} (a Flama tar holds 'model' and 'artifacts/*')")
    except tarfile.TarError as exc:
        raise ModelFileError(f"corrupt tar archive ({exc})") from None
    if model is None:
        raise ModelFileError("tar archive has no 'model' member")
    if not model:
        raise ModelFileError("empty 'model' member — a known defect of the Flama release that wrote it")
    meta, payload = _document(decompress("zlib", model, budget=budget, what="'model' member"), "'model' member")
    return LegacyFile(layout="tar", compression=TAR_NAMES[codec], meta=meta, payload=payload, artifacts=artifacts)


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(member)
    if handle is None:  # pragma: no cover - regular files always have a handle
        raise ModelFileError(f"tar member {member.name!r} cannot be read")
    content = handle.read()
    if len(content) != member.size:
        raise ModelFileError(f"tar member {member.name!r} is truncated")
    return content
