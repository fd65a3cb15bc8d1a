"""`flm serve`: the HTTP layer over the same predictor as `flm predict`."""

from __future__ import annotations

from typing import Any

import click

from ..options import METHODS, ServeConfig
from .options import Seconds, trust_options


def _parse_models(values: tuple[str, ...]) -> dict[str, str]:
    models: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        derived = not sep or "/" in name  # `dir/a=b.flm` is a path, not a name
        if derived:
            import re
            from pathlib import Path

            # `model-v1.2.flm` serves as /model-v1-2/: a file name need not be a valid model name
            name, path = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(value).stem).strip("-") or "model", value
        elif not name or not name.replace("-", "").replace("_", "").isalnum():
            raise click.BadParameter(f"{value!r}: a model name may hold letters, digits, - and _", param_hint="MODEL")
        if name in models:
            how = " (from the file names; name them with NAME=MODEL.flm)" if derived else ""
            raise click.BadParameter(f"model name {name!r} given twice{how}", param_hint="MODEL")
        models[name] = path
    return models


_DEFAULTS = ServeConfig()


@click.command()
@click.argument("models", nargs=-1, required=True, metavar="[NAME=]MODEL.flm...")
@click.option("--host", default=_DEFAULTS.host, show_default=True, help="Address to bind.")
@click.option("--port", default=_DEFAULTS.port, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@click.option("--workers", default=_DEFAULTS.workers, show_default=True, type=click.IntRange(1),
              help="Worker processes.")
@click.option("--method", default=_DEFAULTS.method, show_default=True, type=click.Choice(METHODS),
              help="Default method of POST /predict/.")
@click.option("--max-batch-size", default=_DEFAULTS.max_batch_size, show_default=True, type=click.IntRange(1),
              help="Most rows coalesced from concurrent requests into one model call.")
@click.option("--max-batch-delay-ms", default=_DEFAULTS.max_batch_delay_ms, show_default=True,
              type=Seconds(0),
              help="How long to wait for more requests to join a batch (0: batch whatever is queued).")
@click.option("--max-body-size", default=_DEFAULTS.max_body_size, show_default=True, type=click.IntRange(1),
              help="Largest request body in bytes (413 beyond).")
@click.option("--timeout", default=_DEFAULTS.timeout, show_default=True, type=Seconds(0, min_open=True),
              help="Seconds a request may take (504 beyond).")
@click.option("--header-timeout", default=_DEFAULTS.header_timeout, show_default=True, type=Seconds(0),
              help="Seconds a connection may take to send a request's headers (0: no limit).")
@click.option("--log-level", default=_DEFAULTS.log_level, show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@trust_options
def serve(models: tuple[str, ...], trust: tuple[str, ...], **settings: Any) -> None:
    """Serve models over HTTP: Flama's routes and the Open Inference Protocol v2.

    \b
      flm serve model.flm                          # http://127.0.0.1:8000
      flm serve churn=churn.flm iris=iris.flm --port 9000
      curl -X POST localhost:8000/predict/ -d '{"input": [[...]]}'

    Every option also reads an FLM_SERVE_* environment variable (FLM_SERVE_PORT, ...).
    Exit status 3 when a model cannot be loaded at start.
    """
    try:
        from .. import serve as server
    except ImportError as error:  # pragma: no cover - depends on the install
        from ..errors import FlmError

        raise FlmError(f"flm serve needs its extra: pip install 'flmcli[serve]' ({error})") from None
    server.run(_parse_models(models), ServeConfig(trust=trust, **settings))
