"""`flm predict`: stream rows through a model."""

from __future__ import annotations

import contextlib
import gc
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from ..atomic import atomic_write
from ..errors import FlmError, InputError
from ..formats import FORMAT_NAMES
from ..options import METHODS, ON_ERROR, PredictOptions, keep_input_option, named_twice, names
from .environment import Environment
from .options import Seconds, trust_options

if TYPE_CHECKING:
    from ..job import Observer

_DEFAULTS = PredictOptions()


def _once_each(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    twice = named_twice(value)
    if twice is not None:
        raise click.BadParameter(f"{twice!r} is named twice")
    return value


@click.command()
@click.argument("model", type=click.Path())
@click.argument("inputs", nargs=-1, metavar="[INPUT]...")
@click.option("-i", "--input", "--file", "named_inputs", multiple=True, metavar="PATH",
              help="An input file (Flama's spellings; same as the INPUT argument). '-' is stdin.")
@click.option("-o", "--output", metavar="PATH",
              help="Write here instead of stdout ('-'), atomically. With several inputs: one file holding every row in "
                   "order if PATH names a format (all.csv) or a file, else a directory (DIR/, one that exists, or a new "
                   "name without a format suffix), one file each.")
@click.option("--from", "from_", type=click.Choice(FORMAT_NAMES),
              help="Input format (default: from the extension, else the first bytes).")
@click.option("--to", type=click.Choice(FORMAT_NAMES),
              help="Output format (default: the -o extension, else the input's; Parquet and Arrow become NDJSON on stdout).")
@click.option("--method", default=_DEFAULTS.method, show_default=True, type=click.Choice(METHODS))
@click.option("--features", metavar="A,B,C", callback=_once_each, help="Map named fields to the model's inputs in this order.")
@click.option("--output-name", metavar="NAME", help="Name of the output column (default 'prediction'; class names for predict_proba).")
@click.option("--keep-input", is_flag=True, help="Write each input record with the outputs added (to chain models).")
@click.option("--keep", metavar="A,B", callback=_once_each, help="Write only these input fields next to the outputs (an id column, say); null where a row lacks one.")
@click.option("--batch-size", type=click.IntRange(1),
              help="Rows per model call (default: 65536; 16384 for JSON/NDJSON kept as they came, --keep-input).")
@click.option("--max-delay", default=_DEFAULTS.max_delay, show_default=True, type=Seconds(0),
              help="Seconds to wait for more rows before scoring a partial batch (live pipes).")
@click.option("--on-error", default=_DEFAULTS.on_error, show_default=True, type=click.Choice(ON_ERROR),
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
    options = PredictOptions(
        method=method,
        features=names(features),
        output_name=output_name,
        on_error=on_error,  # type: ignore[arg-type]  # click.Choice(ON_ERROR)
        keep_input=keep_input_option(keep_input, names(keep)),
        from_=from_,
        to=to,
        batch_size=batch_size,
        max_delay=max_delay,
        trust=trust,
        trust_all=trust_all,
    )
    sources = list(inputs) + list(named_inputs) or ["-"]
    if output == "-":
        output = None  # stdout, as "-" is stdin for an input
    elif output is not None and not output.strip():
        from ..errors import UsageError

        # Path("") is ".": an unset "$OUT" wrote input.json into the current directory, over any file of that name.
        raise UsageError("-o: an empty path; give a file or a directory (leave -o out, or -o -, for stdout)")
    if dask_address:
        from .dask import run_on_dask

        run_on_dask(model, sources, dask_address, options, output=output, progress=progress,
                    partition_size=partition_size)
        return
    run(model, sources, options, output=output, progress=progress, env=Environment.from_sys())


def run(
    model: str,
    sources: Sequence[str],
    options: PredictOptions,
    *,
    output: str | None,
    progress: bool | None,
    env: Environment,
) -> None:
    """What `flm predict` does around the job: where output goes, in which format, what the terminal shows."""
    from .. import formats
    from ..errors import PartialFailure
    from ..job import Job, keep_freed_memory, one_arrow_pool
    from ..predictor import Predictor

    keep_freed_memory()
    one_arrow_pool()

    def load() -> Predictor:
        # No collection while imports and unpickling make a few hundred thousand objects that all live on, then
        # they are frozen out of later collections: each full collection walked them all, holding the GIL that
        # the reader thread needs (0.2-0.7 s of GIL-held pauses per 1M-row JSON run, gc.callbacks; ~0.02 after).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return Predictor.from_options(model, options)
        finally:
            gc.freeze()
            if collecting:
                gc.enable()

    single = output is None or not _is_directory_target(output, sources)
    if output is not None and single:
        _check_output_file(output, model, sources, env)
    # On files, loaded once the reader has started, so the first batches are parsed while the model loads.
    early = single and _opens_without_waiting(sources, env)
    job = Job(load if early else load(), options, on_skip=lambda records: _report(records, env.stderr))
    show = progress if progress is not None else (env.stderr_isatty and "-" not in sources)

    def observe(total: int | None) -> Observer | None:
        if not show:
            return None
        from .progress import track

        return lambda stream: track(stream, job.position, total)

    if output is not None and _is_directory_target(output, sources):
        directory = Path(output)
        _check_targets(sources, directory, options, env)
        directory.mkdir(parents=True, exist_ok=True)
        for source in sources:
            if source == "-":
                raise InputError("stdin cannot be scored into a directory; give -o a file name", source="<stdin>")
            with formats.open_input(source, options.from_, env.stdin) as opened:
                out_fmt = options.to or opened.fmt
                with atomic_write(directory / (Path(source).stem + formats.extension(out_fmt))) as out:
                    job.write([opened], out, out_fmt, observe=observe(formats.size(opened.fp)))
    else:
        with contextlib.ExitStack() as stack:
            try:
                first = stack.enter_context(formats.open_input(sources[0], options.from_, env.stdin))
                out_fmt = options.to or formats.format_for_path(output) or first.fmt
                if output is None and formats.get(out_fmt).binary:
                    if not options.to:
                        out_fmt = formats.STREAM_FALLBACK
                    elif env.stdout_isatty:
                        raise InputError(f"refusing to write {out_fmt} to a terminal; use -o FILE or --to ndjson")
            except FlmError:
                job.predictor  # noqa: B018  # a model not loaded yet: its error comes first, as it always did
                raise

            def inputs() -> Iterator[formats.Input]:
                yield first
                for source in sources[1:]:
                    with formats.open_input(source, options.from_, env.stdin) as opened:
                        yield opened

            out = env.stdout if output is None else stack.enter_context(atomic_write(output))
            job.write(inputs(), out, out_fmt, observe=observe(_total_size(sources)))
    if job.rows == 0:
        import warnings

        named = ", ".join("<stdin>" if s == "-" else s for s in sources)
        warnings.warn(f"no rows in {named}: nothing scored", stacklevel=1)
    if job.skipped:
        raise PartialFailure(f"{job.skipped} row(s) skipped (--on-error skip); each is reported above")


def _check_targets(sources: Sequence[str], directory: Path, options: PredictOptions, env: Environment) -> None:
    """Refuse, before anything is written, two inputs that would be scored into one file (`a/x.csv b/x.csv`), or
    an output that would replace an input: each input gets its own output, named after it."""
    from .. import formats
    from ..errors import UsageError

    if "-" in sources:
        raise InputError("stdin cannot be scored into a directory; give -o a file name", source="<stdin>")
    for source in sources:  # every input is there, before the first one is scored into the folder
        try:
            if os.path.isdir(source):
                raise IsADirectoryError(21, "Is a directory")
            os.stat(source)
        except OSError as exc:
            raise InputError(f"cannot open: {exc.strerror or exc}", source=source) from None
    written: dict[Path, str] = {}
    inputs = {Path(source).resolve(): source for source in sources}
    for source in sources:
        fmt = options.to or options.from_ or formats.format_for_path(source)
        if fmt is None:
            with formats.open_input(source, None, env.stdin) as opened:
                fmt = opened.fmt
        target = directory / (Path(source).stem + formats.extension(fmt))
        key = target.resolve()
        if key in written:
            raise UsageError(f"{written[key]} and {source} would both be scored into {target}",
                             hint="score them into different directories, or rename one")
        if key in inputs:
            raise UsageError(f"scoring {source} into {directory} would replace the input {inputs[key]}",
                             hint="choose another output directory")
        written[key] = source


def _check_output_file(output: str, model: str, sources: Sequence[str], env: Environment) -> None:
    """Refuse an -o file that is the model or an input (by any name: a link, stdin redirected from it): the
    atomic rename would replace it with the predictions."""
    from ..atomic import replaced
    from ..errors import UsageError

    named: list[tuple[str, str | int | None]] = [("model " + model, model)]
    named += [("input <stdin>", _stdin_fd(env)) if s == "-" else ("input " + s, s) for s in sources]
    what = replaced(output, named)
    if what is not None:
        raise UsageError(f"-o {output} would replace the {what}", hint="write the predictions to another file")


def _stdin_fd(env: Environment) -> int | None:
    try:
        return env.stdin.fileno()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None


def _opens_without_waiting(sources: Sequence[str], env: Environment) -> bool:
    """Whether every input is a regular file (stdin redirected from one counts), which opening (reading the
    first bytes to tell the format) never waits on: a pipe might keep a bad model's error waiting for input."""
    import stat

    for source in sources:
        fd = _stdin_fd(env) if source == "-" else None
        try:
            mode = (os.fstat(fd) if fd is not None else os.stat(source)).st_mode
        except OSError:
            return False
        if not stat.S_ISREG(mode):
            return False
    return True


def _is_directory_target(output: str, sources: Sequence[str]) -> bool:
    """Whether -o is a directory to score each input into. Several inputs into a name with a format's suffix
    (`-o all.csv`) or an existing file are one output holding every row in order, as `cat a b | flm predict` gives:
    that name made a directory `all.csv` of one file per input."""
    from ..formats import format_for_path

    if output.endswith(("/", os.sep)) or Path(output).is_dir():
        return True
    return len(sources) > 1 and format_for_path(output) is None and not os.path.lexists(output)


def _total_size(sources: Sequence[str]) -> int | None:
    sizes = [os.path.getsize(s) if s != "-" and os.path.isfile(s) else None for s in sources]
    return None if None in sizes else sum(s for s in sizes if s is not None)


def _report(records: list[dict[str, Any]], stderr: BinaryIO) -> None:
    """Each row --on-error skip dropped, as one JSON line on stderr."""
    import orjson

    stderr.write(b"".join(orjson.dumps(record) + b"\n" for record in records))
    stderr.flush()
