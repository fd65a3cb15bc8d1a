"""One `flm predict` run: open inputs, pick formats, stream batches through the predictor to the outputs."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from . import formats
from .batch import Scored
from .errors import FlmError, InputError, PartialFailure
from .predictor import OnError, Predictor
from .prefetch import prefetch

# Rows per model call, measured with bench/bench_predict.py on the churn pipeline: a scikit-learn Pipeline
# pays ~20 ms per call whatever the size, so 2048-row batches ran at 1/3 of whole-frame speed; 16k rows of
# decoded JSON (Python objects) stay ~30 MiB, typed columnar batches are far cheaper per row. Live pipes
# are unaffected: a partial batch is scored after --max-delay.
DEFAULT_BATCH_SIZE = {"json": 16384, "ndjson": 16384, "csv": 65536, "tsv": 65536, "parquet": 65536, "arrow": 65536}

# What a columnar input becomes when it is written to a pipe or terminal.
STREAM_FALLBACK = {"parquet": "ndjson", "arrow": "ndjson"}
BINARY_FORMATS = ("parquet", "arrow")


def run(
    model: str,
    sources: Sequence[str],
    *,
    output: str | None,
    from_: str | None,
    to: str | None,
    method: str,
    features: list[str] | None,
    output_name: str | None,
    keep_input: bool | list[str],
    batch_size: int | None,
    max_delay: float,
    on_error: OnError,
    progress: bool | None,
    trust: Iterable[str],
    trust_all: bool,
) -> None:
    predictor = Predictor.from_path(
        model,
        trust=trust,
        trust_all=trust_all,
        method=method,
        features=features,
        output_name=output_name,
        on_error=on_error,
    )
    job = _Job(predictor, from_=from_, to=to, keep_input=keep_input, batch_size=batch_size, max_delay=max_delay)
    show_progress = progress if progress is not None else (sys.stderr.isatty() and "-" not in sources)
    if output is not None and _is_directory_target(output, sources):
        directory = Path(output)
        directory.mkdir(parents=True, exist_ok=True)
        for source in sources:
            if source == "-":
                raise InputError("stdin cannot be scored into a directory; give -o a file name", source="<stdin>")
            job.to_directory(source, directory, show_progress)
    else:
        job.to_one_stream(sources, output, show_progress)
    if job.rows == 0:
        import warnings

        warnings.warn(f"no rows in {', '.join('<stdin>' if s == '-' else s for s in sources)}: nothing scored", stacklevel=1)
    if job.skipped:
        raise PartialFailure(f"{job.skipped} row(s) skipped (--on-error skip); each is reported above")


class _Job:
    def __init__(
        self,
        predictor: Predictor,
        *,
        from_: str | None,
        to: str | None,
        keep_input: bool | list[str],
        batch_size: int | None,
        max_delay: float,
    ) -> None:
        self.predictor = predictor
        self.from_ = from_
        self.to = to
        self.keep_input = keep_input
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.skipped = 0
        self.rows = 0
        self.total_bytes: int | None = None

    def to_directory(self, source: str, directory: Path, show_progress: bool) -> None:
        with formats.open_input(source, self.from_) as (fmt, fp, name):
            self.total_bytes = _size(fp)
            out_fmt = self.to or fmt
            target = directory / (Path(source).stem + formats.extension(out_fmt))
            with _atomic(target) as out:
                self._write(out_fmt, self._scored([(fp, fmt, name)], show_progress), out)

    def to_one_stream(self, sources: Sequence[str], output: str | None, show_progress: bool) -> None:
        with contextlib.ExitStack() as stack:
            opened = [stack.enter_context(formats.open_input(source, self.from_)) for source in sources[:1]]
            first_fmt = opened[0][0]
            sizes = [os.path.getsize(s) if s != "-" and os.path.isfile(s) else None for s in sources]
            self.total_bytes = None if None in sizes else sum(s for s in sizes if s is not None)
            out_fmt = self.to or (formats.for_path(output) if output else None) or first_fmt
            if output is None and out_fmt in BINARY_FORMATS and not self.to:
                out_fmt = STREAM_FALLBACK[out_fmt]
            if output is None and out_fmt in BINARY_FORMATS and sys.stdout.isatty():
                raise InputError(f"refusing to write {out_fmt} to a terminal; use -o FILE or --to ndjson")

            def inputs() -> Iterator[tuple[IO[bytes], str, str]]:
                fmt, fp, name = opened[0]
                yield fp, fmt, name
                for source in sources[1:]:
                    with formats.open_input(source, self.from_) as (fmt, fp, name):
                        yield fp, fmt, name

            scored = self._scored(inputs(), show_progress)
            if output is None:
                self._write(out_fmt, scored, sys.stdout.buffer)
            else:
                with _atomic(Path(output)) as out:
                    self._write(out_fmt, scored, out)

    def _scored(self, inputs: Iterable[tuple[IO[bytes], str, str]], show_progress: bool) -> Iterator[Scored]:
        meter = _Meter()

        def batches() -> Iterator[Any]:
            for fp, fmt, name in inputs:
                meter.current = fp
                size = self.batch_size or DEFAULT_BATCH_SIZE[fmt]
                read = formats.reader(fmt)
                if fmt == "ndjson" and not self.keep_input:
                    # Typed columns through Arrow; kept input fields are written as they came, so row by row.
                    from .formats import ndjson_arrow

                    read = ndjson_arrow.read
                yield from read(fp, source=name, batch_size=size, max_delay=self.max_delay)
                meter.finish(fp)

        stream = self.predictor.predict(prefetch(batches()))
        if show_progress:
            stream = _with_progress(stream, meter, self.total_bytes)
        return self._report_skipped(stream)

    def _report_skipped(self, stream: Iterator[Scored]) -> Iterator[Scored]:
        import orjson

        for scored in stream:
            self.rows += len(scored.batch)
            if scored.keep is not None and scored.errors is not None:
                for index, keep in enumerate(scored.keep):
                    if not keep:
                        self.skipped += 1
                        record = {
                            "source": scored.batch.source,
                            "line": scored.batch.line_of(index),
                            "error": scored.errors[index],
                        }
                        sys.stderr.buffer.write(orjson.dumps(record) + b"\n")
                sys.stderr.flush()
            yield scored

    def _write(self, out_fmt: str, scored: Iterator[Scored], out: IO[bytes]) -> None:
        failure: list[FlmError] = []

        def until_failure() -> Iterator[Scored]:
            # A bad row ends the run, but what was scored before it is written and the output closed properly
            # (a JSON array gets its `]`, a Parquet file its footer).
            try:
                yield from scored
            except FlmError as error:
                failure.append(error)

        formats.writer(out_fmt)(until_failure(), out, keep_input=self.keep_input)
        if failure:
            raise failure[0]


def _is_directory_target(output: str, sources: Sequence[str]) -> bool:
    return len(sources) > 1 or output.endswith(("/", os.sep)) or Path(output).is_dir()


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[IO[bytes]]:
    """Write to a temporary file beside `target`, renamed into place only when everything went well."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it 0600; the result should look like any file we write
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class _Meter:
    """How many bytes of the input files the readers have consumed, for the progress bar."""

    def __init__(self) -> None:
        self.current: IO[bytes] | None = None
        self.done = 0

    def finish(self, fp: IO[bytes]) -> None:
        self.done += _size(fp) or 0
        self.current = None

    def position(self) -> int:
        fp = self.current
        try:
            return self.done + (fp.tell() if fp is not None else 0)
        except (OSError, ValueError):
            return self.done


def _size(fp: IO[bytes]) -> int | None:
    try:
        return os.fstat(fp.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        return None


def _with_progress(stream: Iterator[Scored], meter: _Meter, total: int | None = None) -> Iterator[Scored]:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TextColumn("{task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
    )
    rows = 0
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("scoring", total=total, rows=0, rate=0.0)
        for scored in stream:
            rows += len(scored.batch)
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(task, completed=meter.position(), description=scored.batch.source, rows=rows,
                       rate=rows / elapsed if elapsed else 0.0)
            yield scored
