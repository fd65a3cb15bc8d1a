"""The predictor: the one place that calls an estimator, shared by `flm predict` and `flm serve`."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from . import features as feat
from . import text_features, unread_features
from .batch import Batch, Scored
from .errors import InputError, ModelFileError, ModelMethodError, clip
from .options import METHODS, OnError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .flm.model import ModelFile
    from .options import PredictOptions


# What scikit-learn raises for one bad value; anything else is the model's fault, not the row's.
_ROW_FAILURES = (ValueError, TypeError, feat.RowError)
_QUOTED = re.compile(r": '(.*)'$")
# TypeErrors that say the code is broken, never what a value is: a model that cannot run, not a bad row.
_BROKEN = re.compile(r"object is not callable|unexpected keyword argument|required positional argument|"
                     r"positional arguments? but \d+ (?:was|were) given|object is not subscriptable")


class BatchFailed(Exception):
    """A row failed under on_error="fail": the rows before it were scored and must still be written."""

    def __init__(self, scored: Scored, error: InputError) -> None:
        super().__init__(str(error))
        self.scored = scored
        self.error = error


class Unbisected(Exception):
    """A model call failed under `score(..., bisect=False)`: nothing was searched. Score the batch again with
    bisect=True (where a search taking many model calls is affordable) to find the rows at fault."""


class Predictor:
    def __init__(
        self,
        model: ModelFile,
        *,
        method: str = "predict",
        features: Sequence[str] | None = None,
        output_name: str | None = None,
        on_error: OnError = "fail",
    ) -> None:
        self.model = model
        self.estimator = model.estimator
        self.method = self.check_method(method)
        self.spec = feat.spec_for(self.estimator, features)
        self._text = text_features.trained_as_text(self.estimator, self.spec.names, self.spec.expected)
        self.spec = dataclasses.replace(self.spec, as_text=text_features.read_as_text(self._text),
                                        unread=unread_features.unread(self.estimator, self.spec.names, self.spec.expected))
        self.output_name = output_name
        self.on_error = on_error
        # A row that scored well: swapping its values into a failing row one field at a time names the culprit.
        self._reference: list[Any] | None = None
        self._shapes: dict[str, tuple[tuple[int, ...], Any]] = {}
        self._output_indexes: dict[tuple[str | None, int], pd.Index] = {}

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        trust: Iterable[str] = (),
        trust_all: bool = False,
        **options: Any,
    ) -> Predictor:
        from .flm import load

        return cls(load(path, trust=trust, trust_all=trust_all), **options)

    @classmethod
    def from_options(cls, path: str | os.PathLike[str], options: PredictOptions) -> Predictor:
        """The predictor a `flm predict` run (or any caller holding PredictOptions) asks for."""
        return cls.from_path(
            path,
            trust=options.trust,
            trust_all=options.trust_all,
            method=options.method,
            features=options.features,
            output_name=options.output_name,
            on_error=options.on_error,
        )

    def example_row(self) -> list[Any]:
        """A positional row the model takes, for the served docs' example: 0.0 for each feature, and one of its
        categories for a feature trained as text (0.0 there is a bad row: churn's Geography)."""
        row: list[Any] = [0.0] * (self.spec.expected or 1)
        for position, categories in self._text:
            if categories and position < len(row):
                row[position] = categories[0]
        return row

    def check_method(self, method: str) -> str:
        """`method` if the estimator has it; ModelMethodError naming what it has otherwise."""
        if method not in METHODS or not callable(getattr(self.estimator, method, None)):
            has = [m for m in METHODS if callable(getattr(self.estimator, m, None))]
            if method not in METHODS and has:
                # the model's own methods, not every one flm runs (a Pipeline of a classifier has no transform)
                raise ModelMethodError(f"unknown method {method!r}; this model has {', '.join(has)}")
            if not has:
                raise ModelFileError(f"the file holds a {type(self.estimator).__name__}, not an estimator with "
                                     f"any of {', '.join(METHODS)}", path=self.model.path)
            raise ModelMethodError(
                f"{type(self.estimator).__name__} has no {method}; it has {', '.join(has) or 'no known method'}"
            )
        return method

    def methods(self) -> list[str]:
        return [m for m in METHODS if callable(getattr(self.estimator, m, None))]

    def predict(self, batches: Iterable[Batch], *, method: str | None = None) -> Iterator[Scored]:
        """Score batches in order. Under on_error="fail" the rows before a bad row are yielded, then it raises.
        --output-name is checked first, where the model tells its outputs, before a writer has written anything."""
        self.check_output_names(method or self.method)
        return self._predict(batches, method)

    def check_output_names(self, method: str) -> None:
        """--output-name against `method`'s outputs where the fitted estimator says how many there are: a list of
        the wrong count, or a name twice, is a usage error before any row is read or written (a JSON array's `[]`
        on stdout), not at the first batch. Where the count is a guess, the first batch still checks."""
        if not self.output_name:
            return
        from . import output_shapes

        width = output_shapes.width(self.estimator, method)
        if width == 1:
            self._flat_name(method)
        elif width is not None:
            self.output_columns(width, method)

    def _predict(self, batches: Iterable[Batch], method: str | None) -> Iterator[Scored]:
        for batch in batches:
            try:
                yield self.score(batch, method=method)
            except BatchFailed as failed:
                if len(failed.scored.batch):
                    yield failed.scored
                raise failed.error from None

    def score(
        self, batch: Batch, *, method: str | None = None, segments: Sequence[int] | None = None, bisect: bool = True
    ) -> Scored:
        """Outputs for the rows of `batch`, each bad row found and named.

        With `segments` (the start of each of several requests merged into the batch, the first 0), a bad row
        fails its own segment only, as on_error="fail" fails a batch: the rows after it in that segment are
        not scored, the other segments are. Nothing is raised for bad rows: `Scored.failures` holds each
        one's error, for the caller to hand to its request (`Scored.slice`).

        `bisect=False` makes at most one model call: if it fails, Unbisected is raised.
        """
        method = self.check_method(method) if method and method != self.method else self.method
        if batch.fallback is not None:
            fast = self._score_columns(batch, method)
            if fast is not None:
                return fast
            batch = batch.fallback()
        n = len(batch)
        bad: dict[int, InputError] = {}
        if batch.records is not None:
            rows, row_errors = feat.from_records(batch.records, self.spec)
            for error in row_errors:
                bad[error.index] = self._row_error(batch, error.index, error.reason, error.field, error.hint)
            good: Sequence[int] = [i for i in range(n) if i not in bad]
            # rows holds only the good records: map batch positions to it when some were left out
            position = {index: at for at, index in enumerate(good)} if bad else None

            def make(indices: Sequence[int]) -> Any:
                if position is None and len(indices) == n:
                    return feat.matrix(rows, self.spec)
                return feat.matrix([rows[position[i] if position else i] for i in indices], self.spec)

        else:
            full = feat.from_table(batch, self.spec)
            # A range, not a list of n ints: made and freed per batch on the main thread, beside the model.
            good = range(n)
            if batch.bad:
                for index, reason in batch.bad.items():
                    bad[index] = self._row_error(batch, index, reason, None)
                good = [i for i in good if i not in batch.bad]

            def make(indices: Sequence[int]) -> Any:
                if len(indices) == n:
                    return full
                return full.iloc[indices] if hasattr(full, "iloc") else full[indices]

        # Under "fail" nothing after the first bad row of a segment (the batch, unless told) may be scored.
        stop = self._stopper(n, segments)
        if bad and stop is not None:
            good = stop(good, list(bad))
        ok, y, failures = self._guarded(make, good, method, stop, bisect=bisect)
        for index, failure in failures:
            if isinstance(failure, feat.RowError):
                bad[index] = self._row_error(batch, index, failure.reason, failure.field, failure.hint)
            else:
                bad[index] = self._value_error(batch, index, _first_line(failure), method)
        if segments is not None:
            return self._with_failures(batch, ok, y, bad, method)
        return self._assemble(batch, ok, y, bad, method)

    def score_all(
        self, batch: Batch, methods: Sequence[str], *, segments: Sequence[int] | None = None, bisect: bool = True
    ) -> list[Scored]:
        """`score` for each of `methods`, the features extracted once, and a pipeline's transformers run once,
        for all of them: what `score` gives method by method, for about the cost of one method.

        Only when every row scores: a batch with a bad row (or nothing to share) is scored method by method,
        so errors are found and named exactly as `score` finds them.
        """
        methods = [self.check_method(m) for m in methods]
        shared = self._shared_input(batch) if len(methods) > 1 else None
        if shared is not None:
            try:
                outputs = self._call_all(shared, methods)
            except _ROW_FAILURES as error:
                if not bisect:
                    raise Unbisected(str(error)) from error
            else:
                n = len(batch)
                if all(len(y) == n for y in outputs):
                    if self._reference is None:
                        self._reference = shared.iloc[0].tolist() if hasattr(shared, "iloc") else list(shared[0])
                    scored = []
                    for method, y in zip(methods, outputs):
                        self._shapes[method] = (y.shape[1:], y.dtype)
                        if segments is not None:
                            scored.append(self._with_failures(batch, range(n), y, {}, method))
                        else:
                            scored.append(self._assemble(batch, range(n), y, {}, method))
                    return scored
        return [self.score(batch, method=method, segments=segments, bisect=bisect) for method in methods]

    def _shared_input(self, batch: Batch) -> Any:
        """The model input for every row of `batch`, or None when a row is bad or the batch is empty."""
        if not len(batch) or batch.bad:
            return None
        if batch.fallback is not None:
            return feat.text_input(batch, self.spec)
        if batch.records is None:
            return feat.from_table(batch, self.spec)
        rows, errors = feat.from_records(batch.records, self.spec)
        if errors:
            return None
        try:
            return feat.matrix(rows, self.spec)
        except feat.RowError:
            return None

    def _call_all(self, X: Any, methods: list[str]) -> list[Any]:
        """Each method on X; a pipeline transforms X once and its final step runs each method on the result,
        as `Pipeline.predict` and the others do without metadata routing."""
        import numpy as np

        estimator = self.estimator
        if not _plain_pipeline(estimator):
            return [self.call(X, method) for method in methods]
        if self._text:
            self._check_text(X)
        final = estimator.steps[-1][1]
        if not all(callable(getattr(final, method, None)) for method in methods):
            return [self.call(X, method) for method in methods]
        Xt = X
        for _, step in estimator.steps[:-1]:
            if step is not None and not (isinstance(step, str) and step == "passthrough"):
                Xt = self._guard_call(step.transform, Xt)
        return [np.asarray(self._guard_call(getattr(final, method), Xt)) for method in methods]

    def _stopper(
        self, n: int, segments: Sequence[int] | None
    ) -> Callable[[Sequence[int], list[int]], list[int]] | None:
        """What is left to score of `indices` once rows `bad` failed: nothing after a bad row in its segment."""
        if segments is None:
            if self.on_error != "fail":
                return None
            return lambda indices, bad: [i for i in indices if i < min(bad)]
        import bisect

        starts = sorted(set(segments) | {0})

        def segment(i: int) -> int:
            return bisect.bisect_right(starts, i) - 1

        def stop(indices: Sequence[int], bad: list[int]) -> list[int]:
            first: dict[int, int] = {}
            for index in bad:
                key = segment(index)
                first[key] = min(index, first.get(key, index))
            return [i for i in indices if not (segment(i) in first and i > first[segment(i)])]

        return stop

    def _with_failures(self, batch: Batch, ok: Sequence[int], y: Any, bad: dict[int, InputError], method: str) -> Scored:
        import numpy as np

        if y is None:
            y = self._empty(method)
        n = len(batch)
        if len(ok) == n:
            outputs, flat, array = self._frame(y, method)
            return Scored(batch=batch, outputs=outputs, flat=flat, failures=bad, array=array)
        # Rows not scored (bad, or after a bad row of their segment) get placeholder outputs: their request fails.
        full = np.zeros((n,) + y.shape[1:], dtype=y.dtype) if y.dtype != object else np.full((n,) + y.shape[1:], None)
        if ok:
            full[ok] = y
        outputs, flat, array = self._frame(full, method)
        return Scored(batch=batch, outputs=outputs, flat=flat, failures=bad, array=array)

    def _score_columns(self, batch: Batch, method: str) -> Scored | None:
        """Typed columns parsed from text scored in one call; None when anything about them is not plain, so
        the row-by-row decoding of the same rows decides, names the bad row and applies --on-error."""
        X = feat.text_input(batch, self.spec)
        if X is None:
            return None
        try:
            y = self.call(X, method)
        except _ROW_FAILURES:
            return None
        if len(y) != len(batch):
            return None
        self._shapes[method] = (y.shape[1:], y.dtype)
        if self._reference is None and len(batch):
            self._reference = X.iloc[0].tolist() if hasattr(X, "iloc") else list(X[0])
        return self._assemble(batch, range(len(batch)), y, {}, method)

    def call(self, X: Any, method: str | None = None) -> Any:
        """Run the estimator: the only call into the model in flm."""
        import numpy as np

        if self._text:
            self._check_text(X)
        return np.asarray(self._guard_call(getattr(self.estimator, method or self.method), X))

    def _check_text(self, X: Any) -> None:
        """A number where the model was trained on text fails its row (see text_features), found by bisecting as
        any value the model refuses."""
        found = text_features.first_not_text(X, self._text, feat.string_columns(X))
        if found is not None:
            row, position, reason = found
            raise feat.RowError(row, reason, feat.column_name(self.spec, position))

    def _guard_call(self, function: Callable[[Any], Any], X: Any) -> Any:
        """A call into the model, its failures worded as `call` words them."""
        try:
            return function(X)
        except AttributeError as error:
            # An estimator missing its own attributes was pickled by another scikit-learn: say so, not a traceback.
            skew: tuple[str, str] | None = getattr(self.model, "version_skew", None)
            if skew is None:
                raise
            from .errors import ModelFileError

            raise ModelFileError(
                f"the model was pickled by {self.model.lib} {skew[0]} and cannot run under the installed "
                f"{skew[1]} ({error}); install that version or re-train and re-save it",
                path=str(self.model.path),
            ) from None
        except TypeError as error:
            if _BROKEN.search(str(error)):
                raise self._cannot_run(error) from None
            raise

    def _cannot_run(self, error: Exception) -> Exception:
        from .errors import ModelFileError

        skew: tuple[str, str] | None = getattr(self.model, "version_skew", None)
        versions = (f" (pickled by {getattr(self.model, 'lib', 'its library')} {skew[0]}, running under {skew[1]})"
                    if skew else "")
        return ModelFileError(f"the model cannot run: {type(error).__name__}: {clip(_first_line(error))}{versions}",
                              path=str(self.model.path) if self.model.path else None)

    def _guarded(
        self,
        make: Callable[[Sequence[int]], Any],
        indices: Sequence[int],
        method: str,
        stop: Callable[[Sequence[int], list[int]], list[int]] | None = None,
        *,
        bisect: bool = True,
    ) -> tuple[Sequence[int], Any, list[tuple[int, Exception]]]:
        """Score `indices`; on a value error, bisect to find the rows at fault and score the rest (what `stop`
        leaves of it, when the left half had a bad row)."""
        import numpy as np

        if not indices:
            return [], None, []
        try:
            y = self.call(make(indices), method)
            self._shapes[method] = (y.shape[1:], y.dtype)
            if self._reference is None:
                self._remember(make, indices[0])
            return indices, y, []
        except _ROW_FAILURES as error:
            if not bisect:
                raise Unbisected(str(error)) from error
            if len(indices) == 1:
                if isinstance(error, TypeError) and self._reference is not None and self._fails(self._reference, method):
                    raise self._cannot_run(error) from None  # a row that scored before fails too: not this row
                return [], None, [(indices[0], error)]
        middle = len(indices) // 2
        left_ok, left_y, left_bad = self._guarded(make, indices[:middle], method, stop)
        right = indices[middle:]
        if left_bad and stop is not None:
            right = stop(right, [index for index, _ in left_bad])
        right_ok, right_y, right_bad = self._guarded(make, right, method, stop)
        parts = [y for y in (left_y, right_y) if y is not None]
        y = np.concatenate(parts) if parts else None
        return [*left_ok, *right_ok], y, left_bad + right_bad

    def _fails(self, row: list[Any], method: str) -> bool:
        """Whether a row fails with a TypeError (the check for a row that once scored)."""
        try:
            self.call(feat.matrix([row], self.spec), method)
        except TypeError:
            return True
        except Exception:
            return False
        return False

    def _assemble(
        self, batch: Batch, ok: Sequence[int], y: Any, bad: dict[int, InputError], method: str
    ) -> Scored:
        import numpy as np

        n = len(batch)
        if y is None:
            y = self._empty(method)
        if not bad:
            outputs, flat, array = self._frame(y, method)
            # Under null every batch has its error column, so a columnar output has it from the first batch; skip
            # writes none (Scored.error_field).
            errors: list[str | None] | None = [None] * n if self.on_error == "null" else None
            return Scored(batch=batch, outputs=outputs, errors=errors, flat=flat, array=array, on_error=self.on_error)
        if self.on_error == "fail":
            first = min(bad)
            head = batch.slice(0, first)
            outputs, flat, array = self._frame(y[: len([i for i in ok if i < first])], method)
            raise BatchFailed(Scored(batch=head, outputs=outputs, flat=flat, array=array), bad[first])
        full = np.zeros((n,) + y.shape[1:], dtype=y.dtype) if y.dtype != object else np.full((n,) + y.shape[1:], None)
        if ok:
            full[ok] = y
        outputs, flat, array = self._frame(full, method)
        errors = [None] * n
        for index, error in bad.items():
            errors[index] = str(error)
        keep = [errors[i] is None for i in range(n)] if self.on_error == "skip" else None
        return Scored(batch=batch, outputs=outputs, errors=errors, keep=keep, flat=flat, array=array,
                      on_error=self.on_error)

    def _empty(self, method: str) -> np.ndarray:
        """Outputs for zero rows, shaped like real ones (scikit-learn refuses to run on zero rows)."""
        import numpy as np

        known = self._shapes.get(method)
        if known is not None:
            return np.empty((0, *known[0]), dtype=known[1])
        classes = getattr(self.estimator, "classes_", None)
        if method == "predict_proba" and classes is not None:
            return np.empty((0, len(classes)), dtype=float)
        dtype = classes.dtype if method == "predict" and classes is not None else float
        return np.empty((0,), dtype=dtype)

    def output_columns(self, width: int, method: str) -> list[str]:
        if method == "predict_proba" and hasattr(self.estimator, "classes_"):
            names = [str(c) for c in self.estimator.classes_]
        else:
            names = [str(i) for i in range(width)]
        if len(names) != width:
            names = [str(i) for i in range(width)]
        if self.output_name:
            from .errors import UsageError

            given = self._given_names()
            if len(given) > 1 and len(given) != width:
                raise UsageError(f"--output-name gives {len(given)} names for the {width} outputs of {method}")
            names = given if len(given) == width else [f"{given[0]}_{n}" for n in names]
            # two outputs of one name would be one field, and one of them dropped from every row written
            twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
            if twice is not None:
                raise UsageError(f"--output-name names the output {twice!r} twice")
        return names

    def _frame(self, y: np.ndarray, method: str) -> tuple[pd.DataFrame, bool, np.ndarray]:
        """The outputs as a frame, whether the method returns one value per row, and the 2-D array the frame
        wraps (Scored.array)."""
        import pandas as pd

        flat = y.ndim == 1
        # Explicit width: reshape(0, -1) is ambiguous and numpy refuses it for zero rows.
        y2 = y.reshape(len(y), 1 if flat else math.prod(y.shape[1:]))
        return pd.DataFrame(y2, columns=self._output_index(method, y2.shape[1], flat), copy=False), flat, y2

    def _given_names(self) -> list[str]:
        """--output-name as a list: one name, or one per output (`a,b`)."""
        return [name.strip() for name in (self.output_name or "").split(",")]

    def _flat_name(self, method: str) -> str:
        """The name of a method's one output: a list of names there (`a,b`) is refused, as for several outputs
        (output_columns), rather than naming the column after the list."""
        if not self.output_name:
            return "prediction"
        given = self._given_names()
        if len(given) > 1:
            from .errors import UsageError

            raise UsageError(f"--output-name gives {len(given)} names for the 1 output of {method}")
        return self.output_name

    def _output_index(self, method: str, width: int, flat: bool) -> pd.Index:
        """The outputs' column index, built once per shape: given a list of names, pandas infers the index's
        dtype from them every time, which costs more than the rest of a one-row frame (a server's request)."""
        key = (None if flat else method, width)
        index = self._output_indexes.get(key)
        if index is None:
            import pandas as pd

            names = [self._flat_name(method)] if flat else self.output_columns(width, method)
            index = self._output_indexes[key] = pd.Index(names)
        return index

    def _row_error(
        self, batch: Batch, index: int, reason: str, field: str | None, hint: str | None = None
    ) -> InputError:
        return InputError(reason, source=batch.source, line=batch.line_of(index), field=field, hint=hint)

    def _value_error(self, batch: Batch, index: int, reason: str, method: str) -> InputError:
        if batch.records is not None:
            try:
                feat.row_values(batch.records[index], index, self.spec)
            except feat.RowError as error:  # the fast paths skip the per-value checks: name the field now
                return self._row_error(batch, index, error.reason, error.field, error.hint)
        found = self._field_holding(batch, index, reason, method)
        if found is None:
            return self._row_error(batch, index, f"the model cannot use this row: {clip(reason)}", None)
        field, value = found
        if type(value).__module__ == "numpy" and hasattr(value, "item"):
            value = value.item()  # a numpy scalar: echo `inf`, not `np.float64(inf)`
        return self._row_error(batch, index, f"the model cannot use the value {clip(repr(value))} ({clip(reason)})",
                               field)

    def _remember(self, make: Callable[[Sequence[int]], Any], index: int) -> None:
        X = make([index])
        row = X.iloc[0].tolist() if hasattr(X, "iloc") else list(X[0])
        self._reference = row

    def _values(self, batch: Batch, index: int) -> list[Any] | None:
        if batch.records is not None:
            try:
                return list(feat.row_values(batch.records[index], index, self.spec))
            except feat.RowError:
                return None
        assert batch.table is not None
        X = feat.from_table(batch.slice(index, 1), self.spec)
        return X.iloc[0].tolist() if hasattr(X, "iloc") else list(X[0])

    def _field_holding(self, batch: Batch, index: int, reason: str, method: str) -> tuple[str, Any] | None:
        """The field at fault in a row the model refused: the one whose value scikit-learn quoted, else the
        one whose swap for a known-good row's value lets the row score."""
        values = self._values(batch, index)
        if values is None:
            return None
        match = _QUOTED.search(reason)
        if match:
            for column, value in enumerate(values):
                if str(value) == match.group(1):
                    return feat.column_name(self.spec, column), value
        reference = self._reference if self._reference is not None else self._stand_in_reference()
        if reference is None or len(reference) != len(values):
            return None
        for column in range(len(values)):
            trial = list(values)
            trial[column] = reference[column]
            try:
                self.call(feat.matrix([trial], self.spec), method)
            except _ROW_FAILURES:
                continue
            except Exception:
                return None
            return feat.column_name(self.spec, column), values[column]
        return None

    def _stand_in_reference(self) -> list[Any] | None:
        """Before any row has scored (a one-row input), values to swap in one field at a time: a category for a
        feature trained as text, 0.0 for any other. A swap that lets the row score names the field at fault,
        whatever the values' origin; without them the first row's error named no field."""
        width = self.spec.expected
        if width is None:
            return None
        text = dict(self._text)
        return [text[position][0] if position in text else 0.0 for position in range(width)]


def _plain_pipeline(estimator: Any) -> bool:
    """A scikit-learn Pipeline itself (a subclass may score its own way), metadata routing off: its methods are
    its steps' transform in turn, then the final step's method, so the transforms can be shared."""
    kind = type(estimator)
    if kind.__name__ != "Pipeline" or kind.__module__ != "sklearn.pipeline" or not getattr(estimator, "steps", None):
        return False
    import sys

    get_config = getattr(sys.modules.get("sklearn"), "get_config", None)
    return callable(get_config) and not get_config().get("enable_metadata_routing", False)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
