"""Scale-out on Dask: the core Predictor applied to each partition of a Dask DataFrame.

    import dask.dataframe as dd, flmcli.dask
    scored = flmcli.dask.predict(dd.read_parquet("data/"), "model.flm", method="predict_proba", keep=["id"])
    scored.to_parquet("scored/")

Imported only for `flm predict --dask` or by a user: nothing else in flm imports dask.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from ..options import PredictOptions
from .worker import ModelPlugin, ModelRef, frame_batches, offer, predictor_for, read_model, score

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

__all__ = ["predict"]

# Rows of the first partition scored up front to learn the output's columns and types.
META_ROWS = 64


def predict(
    frame: dd.DataFrame,
    model: str | os.PathLike[str],
    options: PredictOptions | None = None,
    *,
    keep: Sequence[str] | None = None,
    client: Any = None,
    **settings: Any,
) -> dd.DataFrame:
    """A lazy Dask DataFrame of the model's outputs for `frame`, partition by partition.

    Columns, names and types are those `flm predict` writes for the same rows: the outputs (`prediction`,
    or one column per class for predict_proba), after the `keep` columns (or every input column with
    `keep_input`), and an `error` column with on_error="null". Rows keep the input's index; on_error="skip"
    drops bad rows (use "null" to see why they failed). The model file is read here, sent to each worker once
    (a worker plugin, keyed by its sha256), and audited there with `trust`/`trust_all`.
    `options` (or single `settings` over it: method=, features=, output_name=, keep_input=, on_error=, trust=,
    trust_all=) are `flm predict`'s, with its defaults; `keep=[...]` is short for keep_input=[...].
    `client`: the distributed Client to use (default: the current one, if any; else Dask's local scheduler).
    """
    options = _options(options, keep, settings)
    ref, data = read_model(model, options.trust, options.trust_all)
    ship(ref, data, client)
    meta = _meta(frame, ref, options)
    collection: Any = frame
    scored: dd.DataFrame = collection.map_partitions(score_frame, ref, options, meta=meta,
                                                     enforce_metadata=False, align_dataframes=False)
    return scored


def _options(options: PredictOptions | None, keep: Sequence[str] | None, settings: dict[str, Any]) -> PredictOptions:
    if settings.get("features") is not None:
        settings["features"] = tuple(settings["features"]) or None
    if "trust" in settings:
        settings["trust"] = tuple(settings["trust"])
    if keep:
        settings["keep_input"] = list(keep)
    elif isinstance(settings.get("keep_input"), (list, tuple)):
        settings["keep_input"] = list(settings["keep_input"])
    return (options or PredictOptions()).replace(**settings)


def ship(ref: ModelRef, data: bytes, client: Any = None) -> None:
    """Send the model to the cluster's workers once, or keep it in this process without a cluster."""
    if client is None:
        try:
            import distributed

            client = cast(Any, distributed).default_client()
        except (ImportError, ValueError):
            client = None
    if client is None:
        offer(ref, data)
    else:
        client.register_plugin(ModelPlugin(ref, data))


def score_frame(frame: pd.DataFrame, ref: ModelRef, options: PredictOptions,
                partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    """One partition through the core Predictor, as the table `flm predict` would write for it."""
    import numpy as np
    import pyarrow as pa

    from ..formats.columnar import conform, schema_of, scored_table

    number = partition_info.get("number") if partition_info else None
    source = f"partition {number}" if number is not None else "partition"
    tables: list[pa.Table] = []
    kept: list[np.ndarray] = []
    for scored in score(predictor_for(ref, options), frame_batches(frame, source, 1)):
        table = scored_table(scored, options.keep_input)
        tables.append(conform(table, schema_of(tables[0]), scored.batch) if tables else table)
        n = len(scored.batch)
        kept.append(np.asarray(scored.keep, dtype=bool) if scored.keep is not None else np.ones(n, dtype=bool))
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    result = table.to_pandas()
    mask = np.concatenate(kept) if kept else np.zeros(0, dtype=bool)
    result.index = frame.index[mask] if len(mask) == len(frame) else frame.index[: len(result)]
    return result


def _meta(frame: dd.DataFrame, ref: ModelRef, options: PredictOptions) -> pd.DataFrame:
    """The output's empty frame, from scoring the first rows where the partitions will be scored."""
    from dask.delayed import delayed

    head = frame.partitions[0].head(META_ROWS, compute=False).to_delayed()[0]
    # "skip" for the sample: a bad row in it is for the job to report, with its true position.
    sample = options.replace(on_error="null" if options.on_error == "null" else "skip")
    scored: pd.DataFrame = delayed(score_frame)(head, ref, sample).compute()
    return scored.iloc[:0]


# For callers that need the pieces (the CLI's job).
__all__ += ["ModelRef", "PredictOptions", "predictor_for", "read_model", "score"]
