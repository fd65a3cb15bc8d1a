"""Decide whether a pickle is safe to load, without running it.

A pickle can import and call anything. `audit` walks the opcodes (never executing them) and
lists every global the pickle would import; `restricted_loads` then unpickles with a
`find_class` that enforces the same allow-list, so a name the audit missed still cannot load.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import UntrustedModelError

# Packages a scikit-learn model legitimately pickles, trusted by module prefix.
TRUSTED_PACKAGES = ("sklearn", "numpy", "scipy", "pandas", "xgboost", "lightgbm", "catboost")

# Inside trusted packages: modules that read or write files, run code or import by name.
DENIED_MODULES = (
    "numpy.testing", "numpy.distutils", "numpy.f2py", "numpy.ctypeslib", "numpy.lib.npyio", "numpy.lib._npyio_impl",
    "numpy.lib.format", "numpy.lib._format_impl", "numpy.lib.utils", "numpy.lib._utils_impl",
    "pandas.io", "pandas.core.computation", "pandas.testing", "pandas._testing", "pandas.util", "pandas.plotting",
    "scipy.io", "scipy._lib._ccallback", "scipy._lib._testutils", "scipy.misc",
    "sklearn.datasets", "sklearn.utils._testing", "sklearn.externals", "sklearn.utils._show_versions",
)
DENIED_NAMES = frozenset({
    "load", "loads", "save", "savez", "savez_compressed", "savetxt", "fromfile", "tofile", "loadtxt", "genfromtxt",
    "fromregex", "memmap", "open_memmap", "eval", "exec", "compile", "system", "popen", "__import__", "getattr",
    "setattr", "delattr", "open", "read_pickle", "to_pickle", "_ufunc_reconstruct", "import_module", "LowLevelCallable",
})

# A few stdlib names a model pickle may need; nothing that can call or import arbitrary things.
TRUSTED_NAMES = frozenset({
    "builtins.slice", "builtins.set", "builtins.frozenset", "builtins.complex", "builtins.bytearray",
    "builtins.bytes", "builtins.range", "builtins.object", "builtins.int", "builtins.float", "builtins.str",
    "builtins.list", "builtins.dict", "builtins.tuple", "builtins.bool",
    "copyreg._reconstructor", "collections.OrderedDict", "collections.defaultdict", "collections.deque",
    "_codecs.encode", "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta",
    "datetime.timezone", "decimal.Decimal", "fractions.Fraction", "uuid.UUID",
})

_STRING_OPS = frozenset({
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING",
})
_GET_OPS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_PUT_OPS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_NEUTRAL_OPS = frozenset({"PROTO", "FRAME"})  # change neither the stack nor the memo
_UNKNOWN = object()


@dataclass(frozen=True)
class Import:
    """One global a pickle would import."""

    module: str
    name: str
    trusted: bool

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"


def _in(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def is_allowed(module: str, name: str, trust: Iterable[str] = ()) -> bool:
    """Whether importing `module`.`name` is allowed: the built-in allow-list plus the user's `trust` patterns."""
    qualified = f"{module}.{name}"
    for pattern in trust:
        if pattern == qualified or (pattern.endswith(".*") and _in(module, [pattern[:-2]])):
            return True
    if qualified in TRUSTED_NAMES:
        return True
    # dotted names walk attributes at load time (e.g. "DataFrame.eval"); never needed by a model
    if "." in name or name in DENIED_NAMES or name.startswith("read_"):
        return False
    return _in(module, TRUSTED_PACKAGES) and not _in(module, DENIED_MODULES)


def audit(data: bytes, trust: Iterable[str] = ()) -> list[Import]:
    """Every global `data` would import, in order of first appearance, without unpickling it.

    Anything the walk cannot resolve to a plain (module, name) pair is reported as an
    untrusted import with module "<unresolved>", so it can never pass as safe.
    """
    trust = tuple(trust)
    found: dict[tuple[str, str], Import] = {}

    def add(module: str, name: str) -> None:
        if (module, name) not in found:
            allowed = not module.startswith("<") and is_allowed(module, name, trust)
            found[(module, name)] = Import(module, name, allowed)

    # `recent` mirrors the top of the stack only as far as string pushes go: every other
    # opcode pushes _UNKNOWN, so two strings at the end really are the top two stack items.
    recent: list[Any] = []
    memo: dict[object, Any] = {}  # keyed by the memo opcodes' args (ints)
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            op = opcode.name
            if op in _NEUTRAL_OPS:
                continue
            if op in _STRING_OPS:
                recent.append(arg.decode("latin-1") if isinstance(arg, bytes) else arg)
            elif op in _GET_OPS:
                recent.append(memo.get(arg, _UNKNOWN))
            elif op == "MEMOIZE":
                memo[len(memo)] = recent[-1] if recent else _UNKNOWN
            elif op in _PUT_OPS:
                memo[arg] = recent[-1] if recent else _UNKNOWN
            elif op in ("GLOBAL", "INST"):
                module, _, name = str(arg).partition(" ")
                add(module, name)
                recent.append(_UNKNOWN)
            elif op == "STACK_GLOBAL":
                pushed = (recent[-2], recent[-1]) if len(recent) >= 2 else (_UNKNOWN, _UNKNOWN)
                if isinstance(pushed[0], str) and isinstance(pushed[1], str):
                    add(pushed[0], pushed[1])
                else:
                    add("<unresolved>", "STACK_GLOBAL with computed arguments")
                recent.append(_UNKNOWN)
            elif op in ("EXT1", "EXT2", "EXT4"):
                add("<unresolved>", f"extension code {arg}")
                recent.append(_UNKNOWN)
            elif op in ("PERSID", "BINPERSID"):
                add("<unresolved>", "persistent id")
                recent.append(_UNKNOWN)
            else:
                recent.append(_UNKNOWN)
            if len(recent) > 64:
                del recent[:-8]
    except Exception as exc:  # pickletools raises ValueError and friends on garbage
        add("<unresolved>", f"unreadable pickle ({exc})")
    return list(found.values())


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, trust: tuple[str, ...], path: str | None) -> None:
        super().__init__(io.BytesIO(data))
        self._trust = trust
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if not is_allowed(module, name, self._trust):
            raise UntrustedModelError([f"{module}.{name}"], path=self._path)
        return super().find_class(module, name)


def restricted_loads(data: bytes, *, trust: Iterable[str] = (), trust_all: bool = False,
                     path: str | None = None) -> Any:
    """Unpickle `data` only if every import is allowed; raise UntrustedModelError naming the rest."""
    if trust_all:
        return pickle.loads(data)
    trust = tuple(trust)
    untrusted = [item.qualified for item in audit(data, trust) if not item.trusted]
    if untrusted:
        raise UntrustedModelError(untrusted, path=path)
    return _RestrictedUnpickler(data, trust, path).load()
