"""`flm pack`: build an FLM file from a pickled or joblib estimator, for users without a training script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import trust_options

CODECS = ("zstd", "zlib", "bz2", "lzma")


def _json_file(path: str | None, option: str) -> Any:
    if path is None:
        return None
    import orjson

    from ..errors import InputError

    try:
        value = orjson.loads(Path(path).read_bytes())
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror}", source=path) from None
    except orjson.JSONDecodeError as error:
        raise InputError(f"{option}: not valid JSON ({error})", source=path) from None
    if not isinstance(value, dict):
        raise InputError(f"{option}: expected a JSON object, got {type(value).__name__}", source=path)
    return value


def _check_output(output: str, inputs: dict[str, str | None]) -> None:
    """An -o that is one of pack's own inputs would be replaced by the FLM file: refuse it before anything."""
    from ..atomic import replaced
    from ..errors import UsageError

    what = replaced(output, ((f"{what} {path}", path) for what, path in inputs.items()))
    if what is not None:
        raise UsageError(f"-o {output} would replace the {what}", hint="write the FLM file elsewhere")


def _iso_timestamp(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    import datetime

    if value is not None:
        try:
            datetime.datetime.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not an ISO 8601 timestamp (e.g. 2024-05-01T12:00:00)") from None
    return value


def _artifacts(values: tuple[str, ...]) -> dict[str, str]:
    from ..flm.names import is_plain_name

    artifacts: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep:
            name, path = Path(value).name, value
        if not is_plain_name(name):
            raise click.BadParameter(f"{name!r} is not a plain file name", param_hint="--artifact")
        if not Path(path).is_file():
            raise click.BadParameter(f"{path!r} is not a file", param_hint="--artifact")
        artifacts[name] = path
    return artifacts


@click.command()
@click.argument("estimator", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The FLM file to write.")
@click.option("--params", type=click.Path(exists=True, dir_okay=False), help="JSON file of training parameters.")
@click.option("--metrics", type=click.Path(exists=True, dir_okay=False), help="JSON file of metrics.")
@click.option("--extra", type=click.Path(exists=True, dir_okay=False), help="JSON file of extra metadata.")
@click.option("--artifact", "artifacts", multiple=True, metavar="[NAME=]PATH", help="Bundle a file. Repeatable.")
@click.option("--id", "model_id", help="Model id (default: a new UUID).")
@click.option("--timestamp", callback=_iso_timestamp, help="ISO 8601 timestamp (default: now).")
@click.option("--compression", default="zstd", show_default=True, type=click.Choice(CODECS))
@click.option("--protocol", default=2, show_default=True, type=click.IntRange(1, 2),
              help="2 for Flama 2.x; 1 also loads in Flama 1.12.")
@trust_options
def pack(
    estimator: str,
    output: str,
    params: str | None,
    metrics: str | None,
    extra: str | None,
    artifacts: tuple[str, ...],
    model_id: str | None,
    timestamp: str | None,
    compression: str,
    protocol: int,
    trust: tuple[str, ...],
    trust_all: bool,
) -> None:
    """Package a pickled (or joblib) scikit-learn estimator as an FLM file.

    The pickle is audited before it is loaded, as a model file would be.

    \b
      flm pack model.pkl -o model.flm --metrics metrics.json --artifact artifact.json
      flm inspect model.flm
    """
    from ..errors import InputError
    from ..flm import dump
    from ..flm.estimators import load_estimator_file

    named = _artifacts(artifacts)
    _check_output(output, {"estimator": estimator, "--params file": params, "--metrics file": metrics,
                           "--extra file": extra, **{f"artifact {name}": path for name, path in named.items()}})
    model = load_estimator_file(estimator, trust=trust, trust_all=trust_all)
    try:
        dump(
            model,
            output,
            model_id=model_id,
            timestamp=timestamp,
            params=_json_file(params, "--params"),
            metrics=_json_file(metrics, "--metrics"),
            extra=_json_file(extra, "--extra"),
            artifacts=named or None,
            compression=compression,
            protocol=protocol,
        )
    except ValueError as error:  # the library's word for "cannot write this": e.g. not a scikit-learn model
        raise InputError(str(error), source=estimator) from None
    click.echo(f"wrote {output}", err=True)
