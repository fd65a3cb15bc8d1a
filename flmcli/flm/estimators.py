"""Reading a bare estimator file (pickle or joblib) for `flm pack`, with the same audit as a model file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError

# joblib's compressed dumps start with a codec's magic; its uncompressed ones embed raw array bytes in the stream.
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x78", b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18", b"ZF")


def load_estimator_file(path: str, *, trust: tuple[str, ...] = (), trust_all: bool = False) -> Any:
    from .trust import restricted_loads

    data = Path(path).read_bytes()
    if trust_all:
        return _joblib_load(path) if _is_joblib(data) else _plain_load(data, path)
    if _is_joblib(data):
        raise InputError(
            "this is a joblib file, whose embedded arrays flm cannot audit before loading",
            source=path,
            hint="re-save it with pickle.dump, or pass --trust-all if you made it yourself",
        )
    # the same audit and restricted unpickler as a model file's payload
    return restricted_loads(data, trust=trust, path=path)


def _is_joblib(data: bytes) -> bool:
    return data.startswith(_COMPRESSED) or b"NumpyArrayWrapper" in data[:65536]


def _plain_load(data: bytes, path: str) -> Any:
    import pickle

    try:
        return pickle.loads(data)
    except Exception as error:
        raise InputError(f"not a readable pickle ({type(error).__name__}: {error})", source=path) from None


def _joblib_load(path: str) -> Any:
    import joblib

    try:
        return joblib.load(path)
    except Exception as error:
        raise InputError(f"not a readable joblib file ({type(error).__name__}: {error})", source=path) from None
