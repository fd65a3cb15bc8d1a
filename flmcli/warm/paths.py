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


def socket_path(directory: str | None = None) -> str:
    return os.path.join(directory or runtime_dir(), SOCKET_NAME)


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
