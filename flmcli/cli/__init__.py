"""The `flm` command: a click group whose subcommands are imported only when run.

Nothing here imports numpy, pandas, scikit-learn, pyarrow or starlette, so
`flm --help` starts in a fraction of a second inside a pipe.
"""

from __future__ import annotations

import errno
import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click

from .. import __version__
from ..errors import ExitStatus, FlmError

# name -> "module:attribute"; the module is imported only when the command runs (or --help lists it).
COMMANDS = {
    "predict": "flmcli.cli.predict:predict",
    "inspect": "flmcli.cli.inspect:inspect",
    "pack": "flmcli.cli.pack:pack",
    "serve": "flmcli.cli.serve:serve",
    "warm": "flmcli.cli.warm:warm",
}


class FlmGroup(click.Group):
    """Lazy subcommands, and the one place where errors become messages and exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # click's own main turns a broken pipe into exit status 1 before ours could see it
            raise _ReaderGone() from None
        except KeyboardInterrupt:
            # click's main writes a blank line to stderr first, whatever stderr is: see main
            raise _Interrupted() from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Always "standalone": every error ends here as a message and an exit status (SystemExit), whether
        `flm` runs as a process or a test calls it in-process through click's CliRunner."""
        argv = list(sys.argv[1:] if args is None else args)
        traceback = "--traceback" in argv
        if traceback:
            argv.remove("--traceback")
        _route_warnings()
        _stand_in_for_closed_stdio()
        previous = _catch_termination()
        try:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except _Terminated as stop:
            click.echo("Terminated", err=True)
            sys.exit(128 + stop.signum)
        except FlmError as error:
            if traceback:
                # The traceback instead of the one-line error, with the same exit status: re-raised, a model
                # file missing or refused (3) or skipped rows (5) ended as any uncaught exception does, with 1.
                import traceback as tracing

                tracing.print_exc()
            else:
                report(error)
            sys.exit(int(error.exit_code))
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except _Interrupted:
            # A blank line first only on a terminal, where it ends the line the terminal's "^C" echo began; in a
            # log or a pipe it was a line of nothing before "Interrupted".
            click.echo("\nInterrupted" if _stderr_is_a_terminal() else "Interrupted", err=True)
            sys.exit(int(ExitStatus.INTERRUPTED))
        except (KeyboardInterrupt, click.exceptions.Abort):
            click.echo("Interrupted", err=True)
            sys.exit(int(ExitStatus.INTERRUPTED))
        except (BrokenPipeError, _ReaderGone):
            _quiet_stdout()
            # the reader went away (`| head -1`): end as quietly as a Unix filter killed by SIGPIPE would
            sys.exit(ExitStatus.PIPE)
        except OSError as error:
            if traceback:
                raise
            # A full disk, a closed stream, a failing device: what the system said, in one line.
            if error.errno == errno.ENOSPC:
                _quiet_stdout()  # what is still buffered for a full stdout would fail again at exit
            where = f"{error.filename}: " if error.filename else ""
            reason = (error.strerror or str(error)).lower()
            doing = {errno.EBADF: "", errno.ENOSPC: "cannot write: "}.get(error.errno or 0, "cannot read or write: ")
            click.echo(one_line(f"Error: {where}{doing}{reason}"), err=True)
            sys.exit(int(ExitStatus.ERROR))
        except Exception as error:
            if traceback:
                raise
            # Whatever we did not foresee still gets one line, not a traceback.
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            click.echo(one_line(f"Error: unexpected {type(error).__name__}: {first}"), err=True)
            click.echo("Hint: run again with --traceback to see where", err=True)
            sys.exit(int(ExitStatus.ERROR))
        finally:
            _restore_termination(previous)


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the main thread is, so that what is open unwinds as for Ctrl-C (an -o
    file's temporary part is removed) instead of the process dying on the spot."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_termination(signum: int, frame: Any) -> None:
    raise _Terminated(signum)


def _catch_termination() -> dict[int, Any]:
    """Handle SIGTERM and SIGHUP where nobody else does (the default handler), in the main thread only."""
    import signal
    import threading

    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _on_termination)
    return previous


def _restore_termination(previous: dict[int, Any]) -> None:
    import signal

    for signum, handler in previous.items():
        signal.signal(signum, handler)


class _ClosedStream:
    """What stands for a standard stream the shell closed (`<&-`, `>&-`): Python leaves None there, and the first
    use would be an AttributeError; reads and writes say the stream is closed instead."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.buffer = self

    def _closed(self, *args: Any) -> Any:
        raise OSError(errno.EBADF, f"{self.name} is closed")

    read = read1 = peek = readline = write = fileno = _closed

    def isatty(self) -> bool:
        return False

    def flush(self) -> None:
        pass


def _stand_in_for_closed_stdio() -> None:
    if sys.stdin is None:
        sys.stdin = _ClosedStream("stdin")
    if sys.stdout is None:
        sys.stdout = _ClosedStream("stdout")
    if sys.stderr is None:
        import os

        # Messages go nowhere, as the shell asked (`2>&-`); the run itself goes on. Opening /dev/null also takes
        # the free descriptor 2, so that no file opened later gets it and receives what C code writes to it.
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the life of the process


class _ReaderGone(Exception):
    """stdout's reader closed the pipe: not an OSError, so that click does not handle it first."""


class _Interrupted(BaseException):
    """Ctrl-C while a command ran: not a KeyboardInterrupt, so that click does not handle it first."""


def _stderr_is_a_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def report(error: FlmError) -> None:
    click.echo(one_line(f"Error: {error}"), err=True)
    if error.hint:
        click.echo(one_line(f"Hint: {error.hint}"), err=True)


def one_line(text: str) -> str:
    """`text` with control characters escaped: what a message echoes (a file name from a glob, a value) must not
    split its line or drive the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _quiet_stdout() -> None:
    import os

    # Python would complain again while flushing stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _route_warnings() -> None:
    """Warnings are one line on stderr (never stdout), without the source line Python adds."""
    import warnings

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        sys.stderr.write(one_line(f"Warning: {message}") + "\n")

    warnings.showwarning = show


@click.group(cls=FlmGroup, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "FLM"})
@click.version_option(__version__, "--version", prog_name="flm", message="%(prog)s %(version)s")
def cli() -> None:
    """Run Flama FLM model files the Unix way.

    \b
      cat rows.json | flm predict model.flm
      flm predict model.flm data/*.parquet -o scored/
      flm serve model.flm
      flm inspect model.flm

    Add --traceback to any command to see the Python traceback of an error.
    Exit status: 0 ok, 1 bad input, 2 usage, 3 model file missing, unreadable,
    unsafe or unrunnable, 5 rows skipped with --on-error skip, 130 interrupted (143 on
    SIGTERM, 129 on SIGHUP), 141 the reader of stdout went away (| head).
    """


def main() -> None:
    try:
        cli()
    except SystemExit as done:
        _exit(done.code if isinstance(done.code, int) else (0 if done.code is None else 1))
    _exit(0)


def _exit(code: int) -> None:
    from ..prefetch import RUNNING

    csv = sys.modules.get("flmcli.formats.csv_format")  # pyarrow's reader may still call back: csv_format.READING
    if any(thread.is_alive() for thread in RUNNING) or (csv is not None and len(csv.READING)):
        # A reader thread still blocked on stdin (Ctrl-C, or an error in a live pipe) would make the interpreter
        # abort at shutdown while it holds stdin's lock: flush what we wrote and leave at once.
        import os

        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    _freeze_heap()
    sys.exit(code)


def _freeze_heap() -> None:
    """Keep what the run built out of the interpreter's last garbage collections.

    At exit Python collects everything still tracked, twice: with scikit-learn, scipy, pandas and pyarrow imported
    (~140k objects) that took ~0.2 CPU-s and, under load, up to a second of wall after the last output byte, before a
    pipe's next stage saw end of file (bench/bench_exit.py). Frozen objects are skipped. Everything else at exit
    happens as before: threads joined, atexit handlers run (temporary directories, logging, Dask), stdout and stderr
    flushed (a failing flush still reported and exit status 120), objects freed by reference count. Only cyclic
    garbage left at exit is not collected; the system takes the memory back with the process.
    """
    import gc

    gc.freeze()
