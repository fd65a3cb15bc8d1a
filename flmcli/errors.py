"""Every error flm reports, with its exit status and HTTP status. Stdlib only."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1  # bad input data, or any other runtime failure
    USAGE = 2  # click usage errors
    MODEL = 3  # the model file cannot be read, is unsafe, or cannot run
    PARTIAL = 5  # --on-error skip dropped some rows
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT
    PIPE = 141  # stdout's reader went away: 128 + SIGPIPE, as a filter killed by it


# Longest echo of a user's value in a message (an error line, an --on-error null row, an HTTP 400 body).
ECHO_LIMIT = 200
MESSAGE_LIMIT = 1000


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` cut to `limit` characters, saying how long it was: a 20 MB bad value must not print 20 MB."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit:,} characters cut]"


class FlmError(Exception):
    """Base of all errors shown to the user as one line."""

    exit_code: ExitStatus = ExitStatus.ERROR
    http_status: int = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(FlmError):
    """A record, a field or a whole input stream that cannot be scored."""

    exit_code = ExitStatus.ERROR
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        message = clip(message, MESSAGE_LIMIT)
        self.reason = message
        self.source = source
        self.line = line
        self.field = field
        where = ":".join(str(part) for part in (source, line) if part is not None)
        text = message if field is None else f"field {clip(repr(field))}: {message}"
        super().__init__(f"{where}: {text}" if where else text, hint=hint)


class UsageError(FlmError):
    """Arguments that cannot work together (two inputs that would be written to one output file)."""

    exit_code = ExitStatus.USAGE
    http_status = 400


class ModelFileError(FlmError):
    """The model file is broken, unsupported or unsafe to load."""

    exit_code = ExitStatus.MODEL
    http_status = 500

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message, hint=hint)


class UntrustedModelError(ModelFileError):
    """The pickle would import something that is not on the allow-list."""

    def __init__(self, names: list[str], *, path: str | None = None) -> None:
        self.names = names
        listed = ", ".join(names)
        super().__init__(
            f"refusing to unpickle: the model would import untrusted names: {listed}",
            path=path,
            hint="trust them one by one with --trust NAME (repeatable), or --trust-all for a file you made yourself",
        )


class ModelMethodError(FlmError):
    """The estimator cannot do what was asked (e.g. --method predict_proba on a regressor)."""

    exit_code = ExitStatus.ERROR
    http_status = 400


class PartialFailure(FlmError):
    """`--on-error skip` dropped rows: the output is valid but incomplete."""

    exit_code = ExitStatus.PARTIAL
