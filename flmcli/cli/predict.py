"""`flm predict`: stream rows through a model."""

from __future__ import annotations

import click

from ..formats import FORMAT_NAMES
from ..predictor import METHODS, ON_ERROR
from .options import split_names, trust_options

DEFAULT_MAX_DELAY = 0.05


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("inputs", nargs=-1, metavar="[INPUT]...")
@click.option("-i", "--input", "--file", "named_inputs", multiple=True, metavar="PATH",
              help="An input file (Flama's spellings; same as the INPUT argument). '-' is stdin.")
@click.option("-o", "--output", metavar="PATH",
              help="Write here instead of stdout, atomically. With several inputs: a directory, one file each.")
@click.option("--from", "from_", type=click.Choice(FORMAT_NAMES),
              help="Input format (default: from the extension, else the first bytes).")
@click.option("--to", type=click.Choice(FORMAT_NAMES),
              help="Output format (default: the -o extension, else the input's; Parquet and Arrow become NDJSON on stdout).")
@click.option("--method", default="predict", show_default=True, type=click.Choice(METHODS))
@click.option("--features", metavar="A,B,C", help="Map named fields to the model's inputs in this order.")
@click.option("--output-name", metavar="NAME", help="Name of the output column (default 'prediction'; class names for predict_proba).")
@click.option("--keep-input", is_flag=True, help="Write each input record with the outputs added (to chain models).")
@click.option("--keep", metavar="A,B", help="Write only these input fields next to the outputs (an id column, say).")
@click.option("--batch-size", type=click.IntRange(1),
              help="Rows per model call (default: 16384 for JSON/NDJSON, 65536 for CSV, TSV, Parquet, Arrow).")
@click.option("--max-delay", default=DEFAULT_MAX_DELAY, show_default=True, type=click.FloatRange(0),
              help="Seconds to wait for more rows before scoring a partial batch (live pipes).")
@click.option("--on-error", default="fail", show_default=True, type=click.Choice(ON_ERROR),
              help="A bad row: fail (stop, exit 1), skip (report on stderr, exit 5), null (null output and an error field).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal and the input is a file).")
@click.option("--dask", "dask_address", envvar="FLM_DASK", metavar="ADDRESS",
              help="Score on a Dask cluster (tcp://host:8786, or 'local' for one on this machine) into the -o directory.")
@click.option("--partition-size", metavar="SIZE",
              help="With --dask: bytes of input per task (default: Dask's; 64MiB for NDJSON).")
@trust_options
def predict(
    model: str,
    inputs: tuple[str, ...],
    named_inputs: tuple[str, ...],
    output: str | None,
    from_: str | None,
    to: str | None,
    method: str,
    features: str | None,
    output_name: str | None,
    keep_input: bool,
    keep: str | None,
    batch_size: int | None,
    max_delay: float,
    on_error: str,
    progress: bool | None,
    dask_address: str | None,
    partition_size: str | None,
    trust: tuple[str, ...],
    trust_all: bool,
) -> None:
    """Score rows: JSON, NDJSON, CSV/TSV, Parquet or Arrow in, the same (or --to) out.

    \b
      cat input.json | flm predict model.flm               # [[...], ...] -> [0, 1, ...]
      flm predict model.flm rows.ndjson > scored.ndjson
      flm predict model.flm big.parquet -o scored.parquet
      flm predict a.flm rows.ndjson --keep-input | flm predict b.flm
      tail -f events.ndjson | flm predict model.flm

    Reads stdin when no INPUT is given (or INPUT is '-'). Rows stream through in
    batches, so memory stays flat whatever the input size. Parquet (and the Arrow
    file format) on stdin is spooled to a temporary file first, because a Parquet
    reader needs the file's footer.
    """
    from .. import scoring

    sources = list(inputs) + list(named_inputs) or ["-"]
    if dask_address:
        from .dask import run_on_dask

        return run_on_dask(model, sources, dask_address, output=output, from_=from_, to=to, method=method,
                           features=split_names(features), output_name=output_name,
                           keep_input=split_names(keep) or keep_input, on_error=on_error, progress=progress,
                           trust=trust, trust_all=trust_all, partition_size=partition_size)
    scoring.run(
        model,
        sources,
        output=output,
        from_=from_,
        to=to,
        method=method,
        features=split_names(features),
        output_name=output_name,
        keep_input=split_names(keep) or keep_input,
        batch_size=batch_size,
        max_delay=max_delay,
        on_error=on_error,  # type: ignore[arg-type]
        progress=progress,
        trust=trust,
        trust_all=trust_all,
    )

