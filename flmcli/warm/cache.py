"""Models kept loaded in the helper, keyed by what was asked and what is on disk.

A child looks a model up by (path as given, real path, size, mtime, SHA-256 of the bytes, trust
options): a file changed on disk, or asked for with other trust options, is simply another key and
is loaded the cold way. The helper loads a model into the cache only after a child loaded it cold
with the same options, through the same `flmcli.flm.loads` (so the audit runs on that load too).
"""

from __future__ import annotations

import hashlib
import os
import stat
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..flm.model import ModelFile

Key = tuple[str, str, int, int, str, tuple[str, ...], bool]


@dataclass
class Entry:
    model: ModelFile
    warnings: list[tuple[str, type[Warning]]]
    size: int  # resident memory the load added (at least the file size)
    hits: int = 0


@dataclass
class ModelCache:
    limit: int  # bytes
    entries: OrderedDict[Key, Entry] = field(default_factory=OrderedDict)
    misses: int = 0

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.entries.values())

    def lookup(self, path: str, trust: tuple[str, ...], trust_all: bool) -> tuple[Key, Entry] | None:
        try:
            key, _ = file_key(path, trust, trust_all)
        except OSError:
            return None
        entry = self.entries.get(key)
        return (key, entry) if entry is not None else None

    def hit(self, key: Key) -> None:
        entry = self.entries.get(key)
        if entry is not None:
            entry.hits += 1
            self.entries.move_to_end(key)

    def add(self, path: str, realpath: str, trust: tuple[str, ...], trust_all: bool) -> None:
        """Load the model the way a cold `flm predict` does, in this (helper) process; failures are dropped."""
        from ..flm import loads

        try:
            key, data = file_key(path, trust, trust_all, realpath=realpath)
        except OSError:
            return
        if key in self.entries:
            return
        self.misses += 1
        before = resident()
        with warnings.catch_warnings(record=True) as caught, _one_thread():
            warnings.simplefilter("always")
            try:
                model = loads(data, path=path, trust=trust, trust_all=trust_all)
                model.estimator  # noqa: B018 - unpickle now, so children inherit the estimator
            except Exception:  # noqa: BLE001 - the child that asked already reported it its own way
                return
        size = max(resident() - before, len(data))
        if size > self.limit:
            return
        self.entries[key] = Entry(model, [(str(w.message), w.category) for w in caught], size)
        while self.size > self.limit:
            self.entries.popitem(last=False)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"path": key[1], "bytes": entry.size, "hits": entry.hits, "sha256": key[4][:12]}
            for key, entry in self.entries.items()
        ]


def file_key(
    path: str, trust: tuple[str, ...], trust_all: bool, *, realpath: str | None = None
) -> tuple[Key, bytes]:
    """The key of a regular file of at most the size a model file may have, and its bytes; OSError for anything
    else, which is loaded the cold way (whose bounded read refuses it). Read whole, /dev/zero took all memory and
    a FIFO blocked: a child, or the helper itself when a cached path became one."""
    from ..flm import codecs

    real = realpath or os.path.realpath(path)
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block the open
    with open(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > codecs.MAX_DECOMPRESSED_BYTES:
            raise OSError(f"{real}: not a regular file of a model file's size")
        data = handle.read()
    digest = hashlib.sha256(data).hexdigest()
    return (path, real, st.st_size, st.st_mtime_ns, digest, tuple(trust), bool(trust_all)), data


def resident() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _one_thread:
    """Keep BLAS/OpenMP pools unstarted in the helper: a model's load-time probe may call it once."""

    def __enter__(self) -> None:
        import importlib

        self.limits = importlib.import_module("threadpoolctl").threadpool_limits(limits=1)

    def __exit__(self, *exc: object) -> None:
        self.limits.restore_original_limits()
