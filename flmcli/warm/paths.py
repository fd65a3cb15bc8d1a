"""Where the helper's socket lives, and the checks that keep it private. Stdlib only."""

from __future__ import annotations

import os
import stat

SOCKET_NAME = "helper.sock"
LOG_NAME = "helper.log"


def runtime_dir() -> str:
    """$FLM_WARM_DIR, else $XDG_RUNTIME_DIR/flm, else flm-<uid> under $TMPDIR (or /tmp)."""
    explicit = os.environ.get("FLM_WARM_DIR")
    if explicit:
        return explicit
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "flm")
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", f"flm-{os.getuid()}")


# The longest path a Unix socket may have on Linux: sun_path holds 108 bytes, the last a NUL.
MAX_SOCKET_PATH = 107


def socket_path(directory: str | None = None) -> str:
    return os.path.join(directory or runtime_dir(), SOCKET_NAME)


def temporary_socket_path(directory: str, pid: int) -> str:
    """Where a starting helper binds before it renames its socket into place."""
    return os.path.join(directory, f".helper.{pid}.sock")


def too_long(directory: str) -> str | None:
    """Why no helper can listen in `directory` (its socket's path, bound under a longer temporary name first, would
    pass the Unix limit), or None. Checked before starting one, and by clients, which then run cold quietly."""
    longest = os.fsencode(temporary_socket_path(directory, 4194304))  # pid_max's largest value
    if len(longest) <= MAX_SOCKET_PATH:
        return None
    return (f"{directory} is too long for a warm helper's socket: {len(longest)} bytes with the socket's name, "
            f"more than the {MAX_SOCKET_PATH} a Unix socket path may have")


def problem(directory: str, st: os.stat_result) -> str | None:
    """Why `directory` must not be trusted with our requests, or None when it is ours and private."""
    if not stat.S_ISDIR(st.st_mode):
        return f"{directory} is not a directory"
    if st.st_uid != os.getuid():
        return f"{directory} belongs to uid {st.st_uid}, not to you (uid {os.getuid()})"
    mode = stat.S_IMODE(st.st_mode)
    if mode != 0o700:
        return f"{directory} has mode {mode:04o}; a warm helper's directory must be 0700"
    return None


def ensure_private(directory: str) -> str | None:
    """Create `directory` 0700 if missing; return why it cannot be used, or None."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        return f"cannot create {directory}: {exc.strerror or exc}"
    else:
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    return problem(directory, os.lstat(directory))
