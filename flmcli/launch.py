"""The `flm` entry point: a running warm helper takes `flm predict` before anything heavy is imported."""

from __future__ import annotations

import os
import sys


def main() -> None:
    from .stack import call_reserved

    call_reserved(_main)


def _main() -> None:
    # A Dask job runs in this process: its client threads and a LocalCluster's spawned workers are no
    # business of a forked child of the helper.
    dask = any(arg == "--dask" or arg.startswith("--dask=") for arg in sys.argv) or bool(os.environ.get("FLM_DASK"))
    if len(sys.argv) > 1 and sys.argv[1] == "predict" and os.environ.get("FLM_WARM", "1") != "0" and not dask:
        from .warm.client import predict

        status = predict(sys.argv)
        if status is not None:
            sys.exit(status)
    from .cli import main as cold

    cold()
