"""A model as the server holds it: its predictor, its batcher, and what custom routes need from it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..batch import Batch, Scored
from .batcher import Batcher
from .bodies import records_batches
from .errors import NotFound

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..predictor import Predictor
    from .signature import Signature


@dataclass
class ServedModel:
    name: str
    predictor: Predictor
    batcher: Batcher

    @cached_property
    def signature(self) -> Signature:
        """What v2 metadata advertises and infer returns: read from the estimator once, on first use."""
        from .signature import signature

        return signature(self.predictor)

    @cached_property
    def methods(self) -> tuple[str, ...]:
        """The estimator's methods, found once: each lookup asks scikit-learn's `available_if` descriptors, which
        cost microseconds per method per request."""
        return tuple(self.predictor.methods())

    @cached_property
    def feature_positions(self) -> dict[str, int] | None:
        """Each feature name's position in a row, when the model names its features."""
        names = self.predictor.spec.names
        if names is None or len(set(names)) != len(names):
            return None
        return {name: i for i, name in enumerate(names)}

    @property
    def model(self) -> Any:
        """The ModelFile: `.meta`, `.artifacts`, `.inspect()`."""
        return self.predictor.model

    @property
    def artifacts(self) -> dict[str, bytes]:
        return dict(getattr(self.model, "artifacts", None) or {})

    def check_method(self, method: str | None) -> str:
        if not method or method == self.predictor.method:
            return self.predictor.method
        return self.predictor.check_method(method)

    async def predict(self, rows: list[Any] | Batch, method: str | None = None) -> Scored:
        """Score rows (JSON-like records) through the batcher; raises InputError naming a bad row."""
        method = self.check_method(method)
        if isinstance(rows, Batch):
            return await self.batcher.submit(rows, method)
        batches = records_batches(rows, self.batcher.max_batch_size)
        parts = await asyncio.gather(*(self.batcher.submit(batch, method) for batch in batches))
        return concat(parts)

    def inspect(self) -> dict[str, Any]:
        inspect = getattr(self.model, "inspect", None)
        if callable(inspect):
            return dict(inspect())
        return {"meta": getattr(self.model, "meta", None)}


def concat(parts: list[Scored]) -> Scored:
    if len(parts) == 1:
        return parts[0]
    import pandas as pd

    records: list[Any] = []
    for part in parts:
        records.extend(part.batch.records or [])
    batch = Batch(source=parts[0].batch.source, records=records)
    outputs = pd.concat([part.outputs for part in parts], ignore_index=True)
    return Scored(batch=batch, outputs=outputs, flat=parts[0].flat)


def served_model(request: Request, name: str | None = None) -> ServedModel:
    """The model a route serves: by name, or the app's only model."""
    models: dict[str, ServedModel] = request.app.state.models
    if name is None:
        name = request.path_params.get("model_name")
    if name is None:
        if len(models) == 1:
            return next(iter(models.values()))
        raise NotFound(f"several models are served; name one of {', '.join(models)}")
    try:
        return models[name]
    except KeyError:
        raise NotFound(f"unknown model {name!r}; served: {', '.join(models)}") from None
