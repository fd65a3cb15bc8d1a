"""How many values each method of a fitted estimator returns per row, read from the estimator itself: what the
predictor checks --output-name against before anything is written, and the shapes `flm serve` advertises."""

from __future__ import annotations

from typing import Any

# Fitted attributes holding the training targets (or one row of weights per target) as a 2-D array when there were
# several, columns per target: kNN's `_y`, a Gaussian process's `y_train_`, KernelRidge's `dual_coef_`.
_TARGET_COLUMNS = ("_y", "y_train_", "dual_coef_")
# Meta-estimators fitted with one estimator per target.
_PER_TARGET = frozenset({"MultiOutputRegressor", "MultiOutputClassifier", "RegressorChain", "ClassifierChain"})


def shape(estimator: Any, method: str) -> list[int]:
    """A method's output shape, -1 where unknown: [-1] for one value per row, [-1, k] for k."""
    classes = getattr(estimator, "classes_", None)
    n_classes = len(classes) if classes is not None and getattr(classes, "ndim", 1) == 1 else None
    if method == "predict":
        if classes is not None and hasattr(classes, "dtype") and getattr(classes, "ndim", 1) == 1:
            return [-1]
        count = targets(estimator) or 1
        return [-1] if count == 1 else [-1, int(count)]
    if method == "predict_proba":
        return [-1, n_classes if n_classes else -1]
    if method == "decision_function":
        if n_classes == 2:
            return [-1]
        return [-1, n_classes] if n_classes else [-1, -1]
    if method == "score_samples":
        return [-1]
    width = getattr(estimator, "n_components_", None) or getattr(estimator, "n_components", None)
    return [-1, int(width) if isinstance(width, int) else -1]


def width(estimator: Any, method: str) -> int | None:
    """How many values `method` returns per row, where the fitted estimator tells for sure (its classes, its
    targets); None where that is only a guess (a regressor that keeps nothing saying it has one target)."""
    if method == "predict" and getattr(getattr(estimator, "classes_", None), "ndim", None) != 1:
        count = targets(estimator)
        return count if count else None
    known = shape(estimator, method)
    if method == "transform" or len(known) == 2 and known[1] == -1:
        return None
    return 1 if len(known) == 1 else known[1]


def targets(estimator: Any) -> int | None:
    """How many values predict returns per row, of the estimator that predicts (a Pipeline's last step, the
    regressor a TransformedTargetRegressor or a search wraps): `n_outputs_` where it says, else the rows of a
    linear model's 2-D `coef_`, the columns of the targets a kNN, Gaussian process or KernelRidge keeps, one per
    estimator of a MultiOutputRegressor or chain; None when nothing says (one, most likely)."""
    for _ in range(8):  # wrappers inside wrappers, a few deep
        steps = getattr(estimator, "steps", None)
        if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
            estimator = steps[-1][1]
            continue
        inner = getattr(estimator, "regressor_", None) or getattr(estimator, "best_estimator_", None)
        if inner is None:
            break
        estimator = inner
    count = getattr(estimator, "n_outputs_", None)
    if isinstance(count, int):
        return count
    if type(estimator).__name__ in _PER_TARGET:
        fitted = getattr(estimator, "estimators_", None)
        if isinstance(fitted, list) and fitted:
            return len(fitted)
    coef: Any = getattr(estimator, "coef_", None)
    if getattr(coef, "ndim", None) == 2:
        return int(coef.shape[0])
    if getattr(coef, "ndim", None) == 1:
        return 1
    for name in _TARGET_COLUMNS:
        kept: Any = getattr(estimator, name, None)
        if getattr(kept, "ndim", 1) == 2 and hasattr(kept, "shape"):
            return int(kept.shape[1])
        if getattr(kept, "ndim", 2) == 1:
            return 1
    return None
