"""Writing a file so that readers see the old one or the whole new one, never a part. Stdlib only."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

# What tempfile.mkstemp opens with: only a file this call creates, never one (or a link) already there.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def replaced(target: str | os.PathLike[str], files: Iterable[tuple[str, str | int | None]]) -> str | None:
    """Which of `files` (a description, and a path or an open descriptor) is the file at `target`, under any name
    (a link, stdin redirected from it): the rename that ends a write to `target` would replace it. None if none
    is, or nothing is at `target` yet."""
    try:
        at = os.stat(target)
    except OSError:
        return None
    for what, where in files:
        if where is None:
            continue
        try:
            seen = os.fstat(where) if isinstance(where, int) else os.stat(where)
        except OSError:
            continue
        if (seen.st_dev, seen.st_ino) == (at.st_dev, at.st_ino):
            return what
    return None


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A temporary file beside `target`, renamed into place only when the block ends without an error.

    The data and then the directory entry are fsynced, so a crash leaves the old file or the new one.
    """
    path = Path(target)
    try:
        special = not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        special = False  # not there yet (or a dangling link): created below
    if special:
        # A FIFO or a device (/dev/stdout, /dev/null): a rename would replace the node itself with a file.
        with open(path, "wb") as out:
            yield out
        return
    # Through a link to the file it names: the rename must replace that file, not the link.
    path = Path(os.path.realpath(path)) if path.is_symlink() else path
    # The part's name is known before it is created, so that an exception raised between the creating call and
    # the line after it (SIGTERM, SIGHUP and Ctrl-C are raised wherever the main thread is) still removes it:
    # tempfile.mkstemp names the file only once it has made it.
    temporary = ""
    try:
        for _ in range(tempfile.TMP_MAX):
            temporary = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(8)}.part")
            try:
                fd = os.open(temporary, _CREATE, 0o600)
            except FileExistsError:
                temporary = ""  # someone else's: never ours to remove
                continue
            except OSError as error:
                temporary = ""
                # Like open(target, "wb"): a missing folder is the caller's error, named by the file asked for,
                # not by our temporary name.
                raise type(error)(error.errno, error.strerror, str(path)) from None
            break
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary name beside it", str(path))
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # created 0600; the result should look like any file we write
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    _sync_directory(path.parent)


def _remove(temporary: str) -> None:
    if temporary:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse
        pass
    finally:
        os.close(fd)
