"""`flm inspect`: what a model file holds, without running (or even unpickling) the model."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import ExitStatus
from .options import trust_options


@click.command()
@click.argument("model", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON even on a terminal.")
@click.option("--audit", is_flag=True,
              help="List what the model's pickle would import, and whether each is trusted (exit 3 if one is not).")
@trust_options
def inspect(model: str, as_json: bool, audit: bool, trust: tuple[str, ...], trust_all: bool) -> None:
    """Show a model file's metadata and artifacts.

    Prints Flama's `inspect` document as JSON (a readable summary when stdout
    is a terminal). Never unpickles the model: metadata is JSON.

    \b
      flm inspect model.flm | jq .meta.model.metrics
      flm inspect --audit model.flm
    """
    from ..flm import load

    model_file = load(model, trust=trust, trust_all=trust_all)
    document: Any = _audit_document(model_file) if audit else model_file.inspect()
    if as_json or not sys.stdout.isatty():
        import orjson

        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
    else:
        from . import summary

        summary.show(model_file, document, audit=audit)
    if audit and not document["trusted"]:
        raise SystemExit(ExitStatus.MODEL)  # the report is the message: usable as a gate before predict


def _audit_document(model_file: Any) -> dict[str, Any]:
    imports = model_file.audit()
    return {
        "file": str(model_file.path),
        "trusted": all(item.trusted for item in imports),
        "imports": [{"name": f"{item.module}.{item.name}", "trusted": item.trusted} for item in imports],
    }
