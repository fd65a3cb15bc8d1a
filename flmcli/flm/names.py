"""Artifact and archive member names that are safe to use as a single file name."""

from __future__ import annotations

import ntpath
import posixpath


def is_plain_name(name: str) -> bool:
    """True when `name` is one plain file name under both POSIX and Windows rules (as Flama 2.0.8+)."""
    if not name or name in (".", "..") or "\x00" in name:
        return False
    return posixpath.basename(name) == name and ntpath.basename(name) == name and not ntpath.splitdrive(name)[0]


def check_member_path(name: str) -> str | None:
    """Why an archive member path is unsafe, or None: absolute, drive-prefixed or with a `..` component."""
    if "\x00" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")) or ntpath.splitdrive(name)[0]:
        return "is an absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return "contains a '..' component (path traversal)"
    return None
