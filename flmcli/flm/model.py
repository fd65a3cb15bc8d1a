"""`ModelFile`: what `flm.load` returns — metadata, artifacts and a lazily loaded estimator."""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import math
import pathlib
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import ModelFileError
from . import trust as _trust
from .payload import refuse_framework

# distribution names per framework.lib, the first one installed wins (as Flama looks them up)
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "sklearn": ("scikit-learn",),
    "torch": ("torch",),
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "keras"),
    "keras": ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "keras"),
    "transformers": ("transformers",),
}
LLM_CAPABILITIES = {"text": True, "image": False, "audio": False, "video": False, "tools": False, "reasoning": False}


# Metadata is the file's: anything JSON allows may be in it. The inspect document keeps it to
# what every JSON writer can print (orjson stops at 255 levels; strict writers refuse NaN).
MAX_DEPTH = 64
# The integers orjson writes; JSON allows any (Python's reader up to 4,300 digits), shown as their digits.
_INT_LOW, _INT_HIGH = -(2**63), 2**64 - 1


def _showable(value: Any, depth: int) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int) and not isinstance(value, bool) and not _INT_LOW <= value <= _INT_HIGH:
        return str(value)
    if not isinstance(value, dict | list):
        return value
    if depth <= 0:
        return f"<{type(value).__name__} nested more than {MAX_DEPTH} levels deep>"
    if isinstance(value, dict):
        return {_text(str(key)): _showable(item, depth - 1) for key, item in value.items()}
    return [_showable(item, depth - 1) for item in value]


def _text(value: str) -> str:
    """`value` as UTF-8 can hold it: a lone surrogate (JSON's "\\ud800", a tar name's undecodable byte) becomes its
    escape, which no UTF-8 writer refuses (orjson and starlette did: exit 1, a 500)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


class FrameworkVersionWarning(UserWarning):
    """The file was written with another version of its framework than the one installed."""


def installed_version(lib: str) -> str | None:
    for distribution in DISTRIBUTIONS.get(lib, (lib,)):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


@dataclass(eq=False)
class ModelFile:
    """One FLM file, read and checked. `estimator` is unpickled only when first used."""

    path: str | None
    layout: str  # "bare-zlib" | "tar" | "binary"
    protocol: int | None
    compression: str
    meta: dict[str, Any]
    payload: bytes  # the serialized model: the pickle for scikit-learn, the tar stream for a bundle
    artifacts: dict[str, bytes] = field(default_factory=dict)
    kind: str = "binary"  # "binary" | "bundle"
    bundle_files: dict[str, bytes] | None = None
    section_codecs: dict[str, str] | None = None
    trust: tuple[str, ...] = ()
    trust_all: bool = False
    checksummed: bool = False  # every section carries a content checksum that reading verified
    _estimator: Any = field(default=None, repr=False)

    # -- metadata ---------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self.meta["id"])

    @property
    def timestamp(self) -> str:
        return str(self.meta["timestamp"])

    @property
    def framework(self) -> dict[str, Any]:
        stored = self.meta["framework"]
        return {"family": stored.get("family", "ml"), "lib": stored["lib"], "version": stored["version"],
                "config": stored.get("config")}

    @property
    def lib(self) -> str:
        return str(self.meta["framework"]["lib"])

    @property
    def obj(self) -> str:
        return str(self.meta["model"]["obj"])

    @property
    def info(self) -> Any:
        return self.meta["model"].get("info")

    @property
    def params(self) -> Any:
        return self.meta["model"].get("params")

    @property
    def metrics(self) -> Any:
        return self.meta["model"].get("metrics")

    @property
    def extra(self) -> Any:
        return self.meta.get("extra")

    @property
    def capabilities(self) -> Any:
        return self.meta.get("capabilities") or None

    def inspect(self) -> dict[str, Any]:
        """What `flama model FILE inspect` prints (Flama 2.2.2): normalised meta plus artifact names."""
        try:
            model_id = str(uuid.UUID(self.id))
        except ValueError:
            model_id = self.id
        try:
            timestamp = datetime.datetime.fromisoformat(self.timestamp).isoformat()
        except ValueError:
            timestamp = self.timestamp
        meta: dict[str, Any] = {
            "id": model_id,
            "timestamp": timestamp,
            "framework": self.framework,
            "model": {"obj": self.obj, "info": self.info, "params": self.params, "metrics": self.metrics},
            "extra": self.extra,
        }
        capabilities = self.capabilities
        if isinstance(capabilities, dict):
            flags = LLM_CAPABILITIES if capabilities.get("kind") == "llm" else {}
            meta["capabilities"] = {"kind": capabilities.get("kind"),
                                    **{k: bool(capabilities.get(k, v)) for k, v in flags.items()}}
        elif capabilities:
            meta["capabilities"] = capabilities  # not an object: shown as it is, never interpreted
        return {"meta": _showable(meta, MAX_DEPTH), "manifest": [_text(name) for name in self.artifacts]}

    # -- artifacts ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def artifact_files(self) -> Iterator[dict[str, pathlib.Path]]:
        """The artifacts as files in a fresh temporary directory, removed on exit."""
        with tempfile.TemporaryDirectory(prefix="flm-artifacts-") as tmp:
            files: dict[str, pathlib.Path] = {}
            for name, content in self.artifacts.items():
                target = pathlib.Path(tmp) / name  # names were checked to be single plain components
                target.write_bytes(content)
                files[name] = target
            yield files

    # -- the model ----------------------------------------------------------------------------
    def audit(self) -> list[_trust.Import]:
        """Every global the model pickle would import, with whether it is trusted. Runs nothing."""
        if self.kind != "binary" or self.lib != "sklearn":
            return []
        try:
            return _trust.audit(self.payload, self.trust)
        except _trust.CorruptPickleError as exc:
            raise _trust.CorruptPickleError(exc.message.removeprefix("corrupt model payload: "),
                                            path=self.path) from None

    @property
    def version_skew(self) -> tuple[str, str] | None:
        """(version in the file, installed version) when they differ."""
        stored, installed = str(self.meta["framework"].get("version")), installed_version(self.lib)
        return (stored, installed) if installed is not None and installed != stored else None

    @property
    def estimator(self) -> Any:
        if self._estimator is None:
            self._estimator = self._load_estimator()
        return self._estimator

    def _load_estimator(self) -> Any:
        if self.kind == "bundle" or self.lib != "sklearn":
            error = refuse_framework(self.lib, self.kind)
            raise ModelFileError(error.message, path=self.path)
        if installed_version("sklearn") is None:
            raise ModelFileError("scikit-learn is not installed; it is needed to run this model", path=self.path)
        skew = self.version_skew
        if skew:
            warnings.warn(
                f"{self.path or 'model'}: written with scikit-learn {skew[0]}, running with {skew[1]}",
                FrameworkVersionWarning, stacklevel=3,
            )
        with warnings.catch_warnings():
            # scikit-learn warns once per pickled estimator; the single warning above says it all
            warnings.simplefilter("ignore")
            try:
                estimator = _trust.restricted_loads(self.payload, trust=self.trust, trust_all=self.trust_all,
                                                    path=self.path)
            except ModelFileError:
                raise
            except Exception as exc:
                hint = f" (written with scikit-learn {skew[0]}, running with {skew[1]})" if skew else ""
                raise ModelFileError(f"cannot unpickle the model: {type(exc).__name__}: {exc}{hint}",
                                     path=self.path) from None
            if skew:
                self._probe(estimator, skew)
        return estimator

    def _probe(self, estimator: Any, skew: tuple[str, str]) -> None:
        """Catch a pickle that loads but cannot run under this scikit-learn, with one cheap prediction.

        Estimators pickled by an older release can miss attributes a newer `predict` reads
        (the 2023 demo file: SimpleImputer._fill_dtype). Only AttributeError is conclusive;
        anything else may be the dummy row's fault and is left to the real call.
        """
        width = getattr(estimator, "n_features_in_", None)
        method = next((m for m in ("predict", "transform") if hasattr(estimator, m)), None)
        if not isinstance(width, int) or method is None:
            return
        import numpy as np

        try:
            getattr(estimator, method)(np.zeros((1, width), dtype=object))
        except AttributeError as exc:
            raise ModelFileError(
                f"the model was pickled by scikit-learn {skew[0]} and cannot run under the installed "
                f"scikit-learn {skew[1]} ({exc}); install scikit-learn=={skew[0]} or re-train and re-save it",
                path=self.path,
            ) from None
        except Exception:  # noqa: BLE001 - the dummy row may simply be invalid input
            return
