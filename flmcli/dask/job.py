"""`flm predict … --dask ADDRESS`: score files on a Dask cluster into a directory of part files.

Each file is cut into partitions (runs of a Parquet file's row groups, planned from its footer as Dask's
read_parquet plans them; blocks of a text file cut at line ends by Dask's read_bytes, as read_json(lines=True) and
read_csv cut them). Each Dask task reads its partition with flm's own reader (and its limits), scores it with the
core Predictor and writes it with flm's own writer, so a part file holds what `flm predict` writes for those
rows. Parts are named in input order (part-000000, …), so reading the directory back keeps the rows in order.
The job writes into a temporary sibling directory that is renamed into place only when every part is written.
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .. import features
from ..errors import ExitStatus, FlmError, InputError, ModelFileError, PartialFailure
from ..options import PredictOptions
from .worker import (
    ModelRef,
    RemoteError,
    RowFailure,
    RowGroups,
    parquet_batches,
    predictor_for,
    read_model,
    score,
    text_batches,
)

# Formats Dask reads and flm writes as part files.
DASK_INPUTS = ("parquet", "ndjson", "csv", "tsv")
DASK_OUTPUTS = ("parquet", "ndjson", "csv", "tsv")
SUCCESS = "_SUCCESS"
# Seconds to wait for a scheduler before saying it cannot be reached (FLM_DASK_TIMEOUT overrides).
CONNECT_TIMEOUT = 10.0
# Dask's own default for read_parquet with pyarrow: uncompressed bytes of row groups per partition.
PARQUET_BLOCKSIZE = 256 * 2**20
# NDJSON has no default partition size in Dask (a whole file per partition): this one matches read_csv's.
TEXT_BLOCKSIZE = 64 * 2**20


class DaskError(FlmError):
    """The cluster could not be used, or a worker failed for a reason that is not a row's."""


@dataclass(frozen=True, slots=True)
class Source:
    url: str  # what Dask reads
    name: str  # what messages show
    fmt: str


@dataclass(frozen=True, slots=True)
class Part:
    source: Source
    index: int  # partition number within its file
    number: int  # position in the whole job: the part file's name


def run(
    model: str,
    sources: Sequence[str],
    options: PredictOptions,
    *,
    address: str,
    output: str | None,
    progress: bool | None,
    partition_size: str | None = None,
) -> None:
    """`options` as for a local run; partitions are read whole, so batch_size and max_delay do not apply."""
    if output is None:
        raise InputError("--dask writes a directory of part files: give it with -o DIR")
    out_fmt = options.to or "parquet"
    if out_fmt not in DASK_OUTPUTS:
        raise InputError(f"--dask writes {', '.join(DASK_OUTPUTS)} part files, not {out_fmt}")
    if "-" in sources:
        raise InputError("--dask reads files, not stdin", source="<stdin>")
    inputs = expand(sources, options.from_)
    ref, data = read_model(model, options.trust, options.trust_all)
    with _connect(address) as client:
        from . import ship

        ship(ref, data, client)
        parts, pieces = _partitions(inputs, _bytes(partition_size))
        target = Output(output)
        target.check()
        show = progress if progress is not None else sys.stderr.isatty()
        try:
            results = _score_parts(client, parts, pieces, ref, options, out_fmt, target, show)
            if not any(result["written"] for result in results):
                _write_empty_part(client, ref, options, out_fmt, target, inputs)
        except BaseException:
            target.discard()
            raise
        target.publish()
    rows = sum(result["rows"] for result in results)
    skipped = _report_skipped(parts, results)
    if rows == 0:
        import warnings

        warnings.warn(f"no rows in {', '.join(s.name for s in inputs)}: nothing scored", stacklevel=1)
    if skipped:
        raise PartialFailure(f"{skipped} row(s) skipped (--on-error skip); each is reported above")


def _bytes(size: str | None) -> int | None:
    if size is None:
        return None
    from dask.utils import parse_bytes

    try:
        value = int(parse_bytes(size))
    except (ValueError, TypeError):
        raise InputError(f"--partition-size: not a size: {size!r} (say 64MiB, 1GB)") from None
    if value <= 0:
        raise InputError(f"--partition-size must be positive, not {size!r}")
    return value


def expand(sources: Sequence[str], from_: str | None) -> list[Source]:
    """Paths, globs, directories and fsspec URLs, as the files Dask will read, in the order given."""
    from fsspec.core import url_to_fs

    from .. import formats

    found: list[Source] = []
    for source in sources:
        remote = "://" in source and not source.startswith("file://")
        if not remote:
            path = source.removeprefix("file://")
            if glob.has_magic(path):
                names = sorted(glob.glob(path))
            elif os.path.isdir(path):
                names = sorted(os.path.join(path, n) for n in os.listdir(path) if not n.startswith(("_", ".")))
            else:
                names = [path]
            if not names:
                raise InputError("no such file", source=source)
            for name in names:
                if not os.path.isfile(name):
                    raise InputError("no such file" if not os.path.exists(name) else "not a file", source=name)
            pairs = [(os.path.abspath(name), name) for name in names]  # workers may run elsewhere
        else:
            fs, path = url_to_fs(source)
            if glob.has_magic(path):
                names = sorted(fs.glob(path))
            elif fs.isdir(path):
                names = sorted(n for n in fs.ls(path, detail=False) if not os.path.basename(n).startswith(("_", ".")))
            else:
                names = [path]
            if not names or not all(fs.isfile(n) for n in names):
                raise InputError("no such file", source=source)
            pairs = [(fs.unstrip_protocol(n), fs.unstrip_protocol(n)) for n in names]
        for url, name in pairs:
            fmt = from_ or formats.format_for_path(name.split("?")[0])
            if fmt is None:
                raise InputError("cannot tell the format from the file name", source=name,
                                 hint=f"name it with --from ({', '.join(DASK_INPUTS)})")
            if fmt not in DASK_INPUTS:
                raise InputError(f"--dask reads {', '.join(DASK_INPUTS)} files, not {fmt}", source=name)
            found.append(Source(url, name, fmt))
    return found


def _partitions(inputs: list[Source], partition_size: int | None) -> tuple[list[Part], list[Any]]:
    """Each file cut into partitions: a Parquet file into runs of row groups, a text file into blocks at line ends."""
    parts: list[Part] = []
    pieces: list[Any] = []
    for source in inputs:
        try:
            found = _read(source, partition_size)
        except FlmError:
            raise
        except Exception as exc:  # noqa: BLE001 - fsspec, pyarrow and pandas each raise their own kinds
            raise InputError(f"cannot read {source.fmt}: {_first_line(exc)}", source=source.name) from None
        for index, piece in enumerate(found):
            parts.append(Part(source, index, len(parts)))
            pieces.append(piece)
    return parts, pieces


def _read(source: Source, partition_size: int | None) -> list[Any]:
    if source.fmt == "parquet":
        return list(_row_groups(source, partition_size or PARQUET_BLOCKSIZE))
    # NDJSON and CSV: Dask's block reader (what read_json(lines=True) and read_csv use), each block parsed by
    # flm's own reader as `flm predict` parses the file: pandas' parsers reject a whole block for one bad line
    # and insist every block has the first one's column types.
    from dask.bytes.core import read_bytes as _read_bytes

    read_bytes: Any = _read_bytes
    _, blocks = read_bytes(source.url, delimiter=b"\n", blocksize=partition_size or TEXT_BLOCKSIZE, sample=False)
    return list(blocks[0]) if blocks else []


def _row_groups(source: Source, blocksize: int) -> Iterator[RowGroups]:
    """The file's row groups in runs of at most `blocksize` bytes uncompressed (a larger group alone), as Dask's
    read_parquet plans them: only the footer is read here."""
    import fsspec
    import pyarrow.parquet as pq

    with fsspec.open(source.url, "rb") as handle:
        metadata = pq.ParquetFile(handle).metadata
    groups: list[int] = []
    size = rows = 0
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        if groups and size + group.total_byte_size > blocksize:
            yield RowGroups(source.url, tuple(groups), rows)
            groups, size, rows = [], 0, 0
        groups.append(index)
        size += group.total_byte_size
        rows += group.num_rows
    if groups:
        yield RowGroups(source.url, tuple(groups), rows)


def _header(source: Source) -> bytes | None:
    if source.fmt not in ("csv", "tsv"):
        return None
    import fsspec

    with fsspec.open(source.url, "rb") as handle:
        line: bytes = handle.readline()
    return line if line.endswith(b"\n") else line + b"\n"


def span(piece: Any) -> int:
    """What a partition adds to the line count of its file: rows of its row groups, lines of a text block."""
    if isinstance(piece, bytes):
        return piece.count(b"\n") + (1 if piece and not piece.endswith(b"\n") else 0)
    return len(piece)


def write_part(piece: Any, ref: ModelRef, options: PredictOptions, out_fmt: str, fs: Any, directory: str, name: str,
               source: str, fmt: str, shift: int, header: bytes | None) -> dict[str, Any]:
    """On a worker: score one partition and write it as one part file. Returns its span and skipped rows, and
    whether a part was written (not for a partition of no rows). `piece` None: a part of no rows, with the
    output columns (the format's empty file, as `flm predict` writes for an input of no rows)."""
    from .. import formats
    from ..batch import Batch

    skipped: list[tuple[int, str]] = []
    result: dict[str, Any] = {"span": 0 if piece is None else span(piece), "rows": 0, "skipped": skipped,
                              "written": False}
    if piece is None:
        batches: Iterator[Batch] = iter([Batch(source=source, records=[])])
    elif isinstance(piece, bytes):
        if not piece.strip():
            return result
        batches = text_batches(piece, fmt, source, shift, header,
                               lambda names: features.read_as_text(predictor.spec, names))
    else:
        if len(piece) == 0:
            return result
        batches = parquet_batches(piece, source, shift)
    predictor = predictor_for(ref, options)  # before the first batch is read

    def counted() -> Iterator[Any]:
        for scored in score(predictor, batches):
            result["rows"] += len(scored.batch)
            if scored.keep is not None and scored.errors is not None:
                for index, keep_row in enumerate(scored.keep):
                    if not keep_row:
                        line = scored.batch.line_of(index)
                        text = scored.errors[index] or ""
                        skipped.append((line, text.removeprefix(f"{source}:{line}: ")))
            yield scored
            for index in scored.unwritten or ():  # dropped by the writer (records.dump_rows), under skip
                line = scored.batch.line_of(index)
                error = scored.errors[index] if scored.errors is not None else None
                skipped.append((line, (error or "").removeprefix(f"{source}:{line}: ")))

    target = f"{directory}/{name}"
    # A local part is written under a hidden name and renamed, so a worker killed mid-write leaves no part;
    # an object store shows an object only once it is fully uploaded.
    local = _is_local(fs)
    temporary = f"{directory}/.{name}.{uuid.uuid4().hex[:8]}.tmp" if local else target
    try:
        with fs.open(temporary, "wb") as out:
            formats.writer(out_fmt)(counted(), out, keep_input=options.keep_input)
        if local:
            os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(Exception):
            fs.rm(temporary)
        raise
    result["written"] = True
    return result


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


class Output:
    """The output directory, written under a temporary sibling name and moved into place on success."""

    def __init__(self, output: str) -> None:
        from fsspec.core import url_to_fs

        self.fs, path = url_to_fs(output)
        self.path = path.rstrip("/") or path
        self.name = output
        parent, base = os.path.split(self.path)
        self.temporary = f"{parent}/.{base}.flm-{uuid.uuid4().hex[:8]}.tmp" if parent else f".{base}.flm-{uuid.uuid4().hex[:8]}.tmp"
        self.local = _is_local(self.fs)

    def check(self) -> None:
        """Refuse to replace anything but an earlier job's output (it has _SUCCESS) or an empty directory."""
        fs = self.fs
        if not fs.exists(self.path):
            self.fs.makedirs(self.temporary, exist_ok=False)
            return
        if not fs.isdir(self.path):
            raise InputError("exists and is not a directory; --dask writes a directory of part files",
                             source=self.name)
        entries = fs.ls(self.path, detail=False)
        if entries and not fs.exists(f"{self.path}/{SUCCESS}"):
            raise InputError("is a directory that is not an flm output (no _SUCCESS); not replacing it",
                             source=self.name, hint="choose a new -o directory, or remove this one")
        self.fs.makedirs(self.temporary, exist_ok=False)

    def publish(self) -> None:
        fs = self.fs
        if self.local:
            for stray in glob.glob(os.path.join(self.temporary, ".*.tmp")):  # parts of a worker that died mid-write
                os.unlink(stray)
            with open(os.path.join(self.temporary, SUCCESS), "wb"):
                pass
            old = None
            if os.path.exists(self.path):
                old = f"{self.temporary}.old"
                os.rename(self.path, old)
            os.rename(self.temporary, self.path)
            if old is not None:
                import shutil

                shutil.rmtree(old, ignore_errors=True)
            return
        # Object stores cannot rename a directory at once: copy, then mark it complete with _SUCCESS last.
        if fs.exists(self.path):
            fs.rm(self.path, recursive=True)
        fs.mv(self.temporary, self.path, recursive=True)
        fs.pipe(f"{self.path}/{SUCCESS}", b"")
        with contextlib.suppress(Exception):
            fs.rm(self.temporary, recursive=True)

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.fs.rm(self.temporary, recursive=True)


@contextlib.contextmanager
def _connect(address: str) -> Iterator[Any]:
    import logging

    import distributed

    Client: Any = distributed.Client

    # Dask logs worker chatter on stderr; flm reports what matters itself.
    for name in ("distributed", "distributed.worker", "distributed.nanny", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)
    cluster = None
    if address == "local":
        LocalCluster: Any = distributed.LocalCluster
        workers = os.cpu_count() or 1
        # Processes, not threads: scikit-learn holds the GIL for much of a Pipeline call.
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        timeout = float(os.environ.get("FLM_DASK_TIMEOUT", CONNECT_TIMEOUT))
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise DaskError(f"cannot reach the Dask scheduler at {address} within {timeout:g}s: {_first_line(exc)}"
                            ) from None
        except ValueError as exc:
            raise DaskError(f"not a Dask scheduler address: {address} ({_first_line(exc)})") from None
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        dashboard = _dashboard(client)
        sys.stderr.write(f"dask: scheduler {client.scheduler_info().get('address', address)}, {workers} worker(s)"
                         f"{', dashboard ' + dashboard if dashboard else ''}\n")
        sys.stderr.flush()
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def _dashboard(client: Any) -> str | None:
    services = client.scheduler_info().get("services", {})
    if "dashboard" not in services:
        return None
    try:
        return str(client.dashboard_link)
    except Exception:  # noqa: BLE001 - a dashboard link is a courtesy; never fail a job for it
        return None


def _score_parts(client: Any, parts: list[Part], pieces: list[Any], ref: ModelRef, options: PredictOptions,
                 out_fmt: str, target: Output, show: bool) -> list[dict[str, Any]]:
    import distributed
    from dask.delayed import delayed

    from .. import formats

    headers = {part.source: _header(part.source) for part in parts if part.index == 0}
    # Under "null" the error text written into the output names the line: each partition must know where it starts.
    shifts = _shifts(parts, client.compute([delayed(span)(p) for p in pieces], sync=True)) \
        if options.on_error == "null" else [0] * len(parts)
    extension = formats.extension(out_fmt)
    tasks = []
    for part, piece in zip(parts, pieces):
        header = headers[part.source] if part.index > 0 else None
        tasks.append(delayed(write_part, pure=False)(
            piece, ref, options, out_fmt, target.fs, target.temporary, f"part-{part.number:06d}{extension}",
            part.source.name, part.source.fmt, shifts[part.number], header))
    futures = client.compute(tasks)
    index = {future.key: number for number, future in enumerate(futures)}
    results: list[dict[str, Any] | None] = [None] * len(parts)
    as_completed: Any = distributed.as_completed
    # A bad row under "fail": the one reported is the first in input order, as locally, so the partitions
    # before it finish (they may hold an earlier one) while those after it are cancelled.
    first_bad: tuple[int, RowFailure] | None = None
    with _progress(show, len(parts)) as advance:
        for future in as_completed(futures):
            number = index[future.key]
            if future.status == "cancelled":
                continue
            # A result held by a worker that died before it was read here is "lost": Dask computes it again,
            # and exception() waits for that (None once it is done) rather than the part being reported failed.
            error = future.exception()
            if future.status == "cancelled":
                continue
            if error is None:
                results[number] = future.result()
                advance(results[number]["rows"])  # type: ignore[index]
                continue
            if isinstance(error, RowFailure):
                if first_bad is None or number < first_bad[0]:
                    first_bad = (number, error)
                    client.cancel([f for f in futures if index[f.key] > number])
                continue
            client.cancel(futures)
            raise _translate(error, parts[number], client, parts, pieces, results)
    if first_bad is not None:
        raise _translate(first_bad[1], parts[first_bad[0]], client, parts, pieces, results)
    return [result for result in results if result is not None]


def _write_empty_part(client: Any, ref: ModelRef, options: PredictOptions, out_fmt: str, target: Output,
                      inputs: list[Source]) -> None:
    """Inputs of no rows at all: one part of no rows with the output columns, so that the directory reads back as
    an empty table of the output's columns, as `flm predict` without --dask writes an empty file (never a
    directory of no part, which readers refuse or read without columns)."""
    from dask.delayed import delayed

    from .. import formats

    name = f"part-000000{formats.extension(out_fmt)}"
    source = inputs[0] if inputs else Source("", "<none>", "parquet")
    task = delayed(write_part, pure=False)(None, ref, options, out_fmt, target.fs, target.temporary, name,
                                           source.name, source.fmt, 0, None)
    try:
        client.compute(task, sync=True)
    except Exception as error:  # noqa: BLE001 - worded as a partition's failure is
        raise _translate(error, Part(source, 0, 0), client, [], [], []) from None


def _shifts(parts: list[Part], spans: list[int]) -> list[int]:
    """What to add to a partition's own line numbers to get its file's; a CSV block after the first was
    parsed with the header in front, which its own numbering counts as line 1."""
    shifts: list[int] = []
    before = 0
    for part, size in zip(parts, spans):
        if part.index == 0:
            before = 0
        header = 1 if part.index > 0 and part.source.fmt in ("csv", "tsv") else 0
        shifts.append(before - header)
        before += size
    return shifts


def _shift(client: Any, part: Part, parts: list[Part], pieces: list[Any],
           results: list[dict[str, Any] | None]) -> int:
    """`_shifts` for one partition, reading again only the earlier partitions of its file not yet done."""
    from dask.delayed import delayed

    mine = [p for p in parts if p.source == part.source and p.index <= part.index]
    missing = [p.number for p in mine if results[p.number] is None]
    counted = dict(zip(missing, client.compute([delayed(span)(pieces[n]) for n in missing], sync=True)))
    spans = [counted[p.number] if p.number in counted else results[p.number]["span"]  # type: ignore[index]
             for p in mine]
    return _shifts(mine, spans)[-1]


def _translate(error: BaseException | None, part: Part, client: Any, parts: list[Part], pieces: list[Any],
               results: list[dict[str, Any] | None]) -> FlmError:
    name = part.source.name
    if isinstance(error, RowFailure):
        try:
            line = error.line + _shift(client, part, parts, pieces, results)
        except Exception:  # noqa: BLE001 - the row is still worth naming by its partition
            return InputError(f"partition {part.index}, line {error.line}: {error.reason}", source=name,
                              field=error.field, hint=error.hint)
        return InputError(error.reason, source=name, line=line, field=error.field, hint=error.hint)
    if isinstance(error, RemoteError):
        kind = ModelFileError if error.exit_code == ExitStatus.MODEL else DaskError
        failure = kind(error.message, hint=error.hint)
        failure.exit_code = ExitStatus(error.exit_code)
        return failure
    if isinstance(error, FlmError):
        return error
    text = _first_line(error) if error is not None else "the task was lost"
    if type(error).__name__ == "KilledWorker":
        return DaskError(f"{name}: partition {part.index} killed every worker that ran it: {text}",
                         hint="see the workers' logs; a partition may need more memory than a worker has "
                              "(a smaller --partition-size)")
    return DaskError(f"{name}: partition {part.index}: {type(error).__name__}: {text}")


@contextlib.contextmanager
def _progress(show: bool, total: int) -> Iterator[Any]:
    if not show:
        yield lambda rows: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("scoring on dask"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rows]:,} rows"), TimeElapsedColumn(),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("parts", total=total, rows=0)
        count = 0

        def advance(rows: int) -> None:
            nonlocal count
            count += rows
            bar.update(task, advance=1, rows=count)

        yield advance


def _report_skipped(parts: list[Part], results: list[dict[str, Any]]) -> int:
    """Skipped rows on stderr, in input order, as `flm predict` reports them, with lines counted per file."""
    import orjson

    skipped = 0
    shifts = _shifts(parts, [result["span"] for result in results])
    for part, result, shift in zip(parts, results, shifts):
        for line, text in result["skipped"]:
            skipped += 1
            where = line + shift
            record = {"source": part.source.name, "line": where, "error": f"{part.source.name}:{where}: {text}"}
            sys.stderr.buffer.write(orjson.dumps(record) + b"\n")
    sys.stderr.flush()
    return skipped


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
