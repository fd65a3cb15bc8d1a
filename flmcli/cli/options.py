"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class Seconds(click.FloatRange):
    """click.FloatRange without NaN, which passes every range check (a --timeout nan made each request a 500)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        converted = super().convert(value, param, ctx)
        if converted != converted:
            self.fail(f"{value!r} is not a number", param, ctx)
        return converted


def trust_options(function: F) -> F:
    function = click.option(
        "--trust-all",
        is_flag=True,
        help="Unpickle whatever the model file asks for. Only for files you made yourself.",
    )(function)
    function = click.option(
        "--trust",
        "trust",
        multiple=True,
        metavar="NAME",
        help="Also allow the class or function NAME (exact module.qualname, never a prefix). Repeatable.",
    )(function)
    return function

