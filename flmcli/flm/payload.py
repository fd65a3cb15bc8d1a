"""Model payloads per framework (docs/format.md §2.1): what the model bytes are and how flm decodes them."""

from __future__ import annotations

import base64
import binascii
import io
import pickle
import tarfile
from typing import Any

from ..errors import ModelFileError
from .codecs import Budget
from .names import check_member_path

PICKLE_PROTOCOL = 4  # what every Flama release wrote (the default of Python 3.8 – 3.13)


def sklearn_pickle(payload: bytes) -> bytes:
    """The pickle inside a scikit-learn payload (MIME base64 text)."""
    try:
        return base64.b64decode(payload)
    except (binascii.Error, ValueError) as exc:
        raise ModelFileError(f"model payload is not valid base64 ({exc})") from None


def encode_sklearn(model: Any) -> bytes:
    """Flama's scikit-learn payload: 76-column MIME base64, every line ending in a newline."""
    return base64.encodebytes(pickle.dumps(model, protocol=PICKLE_PROTOCOL))


def refuse_framework(lib: str, kind: str) -> ModelFileError:
    if kind == "bundle":
        return ModelFileError(
            f"this is a {lib} bundle model (a model directory); flm cannot run bundle models yet — "
            "its metadata, artifacts and bundle files are readable"
        )
    return ModelFileError(
        f"flm cannot run {lib} models yet (only scikit-learn); the file's metadata and artifacts are readable"
    )


def bundle_files(tar_stream: bytes, budget: Budget) -> dict[str, bytes]:
    """The files of a bundle model section, read in memory; directories are skipped."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_stream), mode="r:") as archive:
            for member in archive:
                name = member.name
                while name.startswith("./"):
                    name = name[2:]
                problem = check_member_path(name)
                if problem:
                    raise ModelFileError(f"bundle member {member.name!r} {problem}; refusing the bundle")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ModelFileError(f"bundle member {member.name!r} is a link or device; refusing the bundle")
                if member.issparse():
                    # a GNU sparse member expands to its declared size from a few bytes: count it first
                    budget.take(member.size, f"sparse bundle member {member.name!r}")
                handle = archive.extractfile(member)
                content = handle.read() if handle else b""
                if len(content) != member.size:
                    raise ModelFileError(f"bundle member {member.name!r} is truncated")
                files[name] = content
    except tarfile.TarError as exc:
        raise ModelFileError(f"model section: corrupt bundle tar stream ({exc})") from None
    return files
