"""Build the man pages in this folder from the click commands themselves.

    python man/build.py            # rewrite man/*.1
    python man/build.py --check    # exit 1 when a committed page is stale (run by the tests)

click-man renders one command; the walk over flm's lazily loaded subcommands is ours,
since click-man only follows a group's eagerly registered `commands`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click_man.core import generate_man_page

from flmcli import __version__
from flmcli.cli import cli

HERE = Path(__file__).resolve().parent
# A fixed date keeps the pages reproducible: they change when the commands change, not every day.
DATE = "2026-11-27"


def pages() -> dict[str, str]:
    root = click.Context(cli, info_name="flm")
    built = {"flm.1": generate_man_page(root, version=__version__, date=DATE)}
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        if command is None or command.hidden:
            continue
        ctx = click.Context(command, info_name=name, parent=root)
        built[f"flm-{name}.1"] = generate_man_page(ctx, version=__version__, date=DATE)
    return built


def main(argv: list[str]) -> int:
    built = pages()
    if "--check" in argv:
        stale = [name for name, text in built.items() if not (HERE / name).is_file() or (HERE / name).read_text() != text]
        extra = sorted(p.name for p in HERE.glob("*.1") if p.name not in built)
        for name in stale + extra:
            print(f"man/{name} is stale: run python man/build.py", file=sys.stderr)
        return 1 if stale or extra else 0
    for name, text in built.items():
        (HERE / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
