"""What a prediction run and a server are asked to do, each default written once. Stdlib only.

The click commands build these from their options (their defaults are read from here), and the
Python API (`Predictor.from_options`, `flmcli.serve.create_app`, `flmcli.serve.run`) takes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .formats.registry import KeepInput

METHODS = ("predict", "predict_proba", "transform", "decision_function", "score_samples")
OnError = Literal["fail", "skip", "null"]
ON_ERROR: tuple[OnError, ...] = ("fail", "skip", "null")


@dataclass(frozen=True, slots=True)
class PredictOptions:
    """How rows become features and outputs, and how they are read and written."""

    method: str = "predict"
    features: tuple[str, ...] | None = None  # map named fields to the model's inputs in this order
    output_name: str | None = None
    on_error: OnError = "fail"
    keep_input: KeepInput = False  # True: every input field; a list: only those
    from_: str | None = None  # input format; None: detect
    to: str | None = None  # output format; None: the output's extension, else the input's
    batch_size: int | None = None  # rows per model call; None: the input format's default
    max_delay: float = 0.05  # seconds of quiet input before a partial batch is scored (live pipes)
    trust: tuple[str, ...] = ()
    trust_all: bool = False

    def batch_size_for(self, fmt: str) -> int:
        from .formats import get

        return self.batch_size or get(fmt).batch_size

    def replace(self, **changes: Any) -> PredictOptions:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """`flm serve` and `create_app`/`run` alike: one set of defaults."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    method: str = "predict"  # default method of POST /predict/
    max_batch_size: int = 1024  # most rows coalesced from concurrent requests into one model call
    max_batch_delay_ms: float = 0.0  # how long to wait for more requests to join a batch
    max_body_size: int = 64 * 1024 * 1024  # bytes; 413 beyond
    timeout: float | None = 30.0  # seconds a request may take; 504 beyond
    header_timeout: float = 10.0  # seconds a connection may take to send a request's headers (0: no limit)
    log_level: str = "info"
    trust: tuple[str, ...] = ()
    trust_all: bool = False

    def replace(self, **changes: Any) -> ServeConfig:
        """A copy with `changes`; a TypeError names an unknown setting."""
        if "trust" in changes:
            changes["trust"] = tuple(changes["trust"])
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def predict_options(self) -> PredictOptions:
        """What each served model's Predictor is built from (requests bring their own rows and error policy)."""
        return PredictOptions(method=self.method, trust=self.trust, trust_all=self.trust_all)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ServeConfig:
        return cls().replace(**document)


def names(value: str | None) -> tuple[str, ...] | None:
    """`a, b,c` -> ("a", "b", "c"); None for nothing."""
    if not value:
        return None
    split = tuple(name.strip() for name in value.split(",") if name.strip())
    return split or None


def named_twice(value: str | None) -> str | None:
    """The first field a list (--features, --keep, ?keep=) names twice: a typo, which would give the model, or the
    output, a column twice."""
    seen: set[str] = set()
    for name in names(value) or ():
        if name in seen:
            return name
        seen.add(name)
    return None


def keep_input_option(keep_all: bool, fields: Sequence[str] | None) -> KeepInput:
    """--keep-input / --keep a,b (or ?keep_input / ?keep=a,b): named fields win over the flag."""
    return list(fields) if fields else keep_all
