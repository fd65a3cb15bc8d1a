"""What a model takes and returns as v2 tensors, read from the fitted estimator.

Outputs: `predict` is the dtype of `classes_` (INT64 for integer labels, BYTES for string labels, BOOL)
for a classifier and FP64 for a regressor, one value per row unless the estimator has several targets;
`predict_proba` is FP64 with one column per class; the others FP64. Inputs: one FP64 matrix when every
feature is numeric, else one tensor per feature, typed from what the fitted preprocessing saw in training
(an encoder's categories, an imputer's fit dtype); a feature nothing tells about (a column the model drops,
an opaque transformer) is BYTES, and any datatype is accepted for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import output_shapes, text_features

if TYPE_CHECKING:
    from ..predictor import Predictor

# Transformers that only take numbers.
_NUMERIC = frozenset({
    "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer", "QuantileTransformer",
    "PowerTransformer", "KBinsDiscretizer", "PolynomialFeatures", "SplineTransformer", "KNNImputer",
    "IterativeImputer", "Binarizer", "PCA", "TruncatedSVD", "VarianceThreshold",
})
_ENCODERS = frozenset({"OneHotEncoder", "OrdinalEncoder", "TargetEncoder"})


@dataclass(frozen=True, slots=True)
class TensorSpec:
    name: str
    datatype: str
    shape: list[int]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": self.shape}


@dataclass(frozen=True, slots=True)
class Signature:
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    # Named features the model drops unread (a ColumnTransformer's dropped remainder): not listed as inputs,
    # and infer does not require them.
    unused: frozenset[str] = frozenset()
    # Positions (model order) of the features known to take numbers (FP64 or INT64 above, from what training
    # saw or a plain estimator's input): infer refuses a BYTES tensor for them, as Triton refuses a datatype
    # the metadata does not list. A feature typed only by guess takes any datatype.
    numeric: frozenset[int] = frozenset()

    def output(self, name: str) -> TensorSpec | None:
        return next((o for o in self.outputs if o.name == name), None)


def signature(predictor: Predictor) -> Signature:
    estimator = predictor.estimator
    spec = predictor.spec
    width = spec.expected
    kinds, dropped, numeric = _input_kinds(estimator, spec.names, width)
    unused: frozenset[str] = frozenset()
    if width is not None and all(kind == "FP64" for kind in kinds):
        inputs = [TensorSpec("input-0", "FP64", [-1, width])]
    elif width is None:
        inputs = [TensorSpec("input-0", "FP64", [-1, -1])]
    else:
        names = spec.names or tuple(f"input-{i}" for i in range(width))
        if spec.names is not None:
            unused = frozenset(names[i] for i in dropped)
        inputs = [TensorSpec(name, kind or "BYTES", [-1]) for name, kind in zip(names, kinds) if name not in unused]
    outputs = [TensorSpec(method, *_output(estimator, method)) for method in predictor.methods()]
    return Signature(inputs, outputs, unused, numeric)


def _output(estimator: Any, method: str) -> tuple[str, list[int]]:
    from .tensors import output_datatype

    classes = getattr(estimator, "classes_", None)
    if method == "predict" and classes is not None and hasattr(classes, "dtype") and getattr(classes, "ndim", 1) == 1:
        return output_datatype(classes), [-1]
    return "FP64", output_shapes.shape(estimator, method)


def _input_kinds(
    estimator: Any, names: tuple[str, ...] | None, width: int | None
) -> tuple[list[str | None], set[int], frozenset[int]]:
    """Per feature: the datatype training saw, or None when nothing says; the features never read; and those
    known to take numbers."""
    if width is None:
        return [], set(), frozenset()
    first = text_features.first_step(estimator)
    kind_of = type(first).__name__
    if kind_of == "ColumnTransformer":
        kinds: list[str | None] = [None] * width
        read: set[int] | None = set()
        for label, transformer, columns in getattr(first, "transformers_", []):
            positions = text_features.positions(columns, names, width)
            if positions is None:
                read = None  # a selector we cannot resolve: any column may be read
                continue
            if transformer == "drop":
                continue
            if read is not None:
                read.update(positions)
            if transformer == "passthrough":
                continue
            for at, kind in zip(positions, _column_kinds(transformer, len(positions))):
                kinds[at] = kind
        dropped = set() if read is None else set(range(width)) - read
        return kinds, dropped, _numbers(kinds)
    column_kinds = _column_kinds(first, width)
    if kind_of in _ENCODERS:
        return column_kinds, set(), _numbers(column_kinds)
    # A plain estimator only takes numbers; so is a transformer we do not know advertised (a FunctionTransformer
    # may take text, so its features are not refused text).
    plain = not hasattr(first, "transform") and hasattr(first, "predict")
    return [kind or "FP64" for kind in column_kinds], set(), frozenset(range(width)) if plain else _numbers(column_kinds)


def _numbers(kinds: list[str | None]) -> frozenset[int]:
    return frozenset(at for at, kind in enumerate(kinds) if kind in ("FP64", "INT64"))


def _column_kinds(transformer: Any, count: int) -> list[str | None]:
    from .tensors import output_datatype

    step = text_features.first_step(transformer)
    kind_of = type(step).__name__
    if kind_of in _ENCODERS:
        categories = getattr(step, "categories_", None)
        if isinstance(categories, list) and len(categories) == count:
            return [_kind(output_datatype(c)) if hasattr(c, "dtype") else None for c in categories]
        return [None] * count
    if kind_of == "SimpleImputer":
        dtype = getattr(step, "_fit_dtype", None)
        kind = getattr(dtype, "kind", None)
        if kind is None:
            return [None] * count
        return ["FP64" if kind in "fiub" else "BYTES"] * count
    if kind_of in _NUMERIC:
        return ["FP64"] * count
    return [None] * count


def _kind(datatype: str) -> str:
    if datatype.startswith(("INT", "UINT")):
        return "INT64"
    if datatype.startswith("FP"):
        return "FP64"
    return datatype
