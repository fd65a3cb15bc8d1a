"""The `--dask` hook of `flm predict`: import Dask only when asked, and say how to get it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import FlmError

if TYPE_CHECKING:
    from ..options import PredictOptions


def run_on_dask(model: str, sources: Sequence[str], address: str, options: PredictOptions, *, output: str | None,
                progress: bool | None, partition_size: str | None) -> None:
    try:
        from ..dask import job
    except ImportError as exc:
        raise FlmError(f"--dask needs Dask ({exc.name or exc} is not installed)",
                       hint="pip install 'flmcli[dask]'") from None
    job.run(model, sources, options, address=address, output=output, progress=progress,
            partition_size=partition_size)
