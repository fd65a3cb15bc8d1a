"""flm: run Flama FLM model files the Unix way.

`load` and `dump` are resolved lazily so that `import flmcli` (and `flm --help`)
never pulls in numpy, pandas or scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "dump", "load"]

if TYPE_CHECKING:
    from .flm import dump, load


def __getattr__(name: str) -> Any:
    if name in ("load", "dump"):
        from . import flm

        return getattr(flm, name)
    raise AttributeError(f"module 'flmcli' has no attribute {name!r}")
