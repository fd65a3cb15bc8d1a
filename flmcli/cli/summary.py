"""The readable, terminal-only rendering of `flm inspect` (rich is imported here only)."""

from __future__ import annotations

from typing import Any


def show(model_file: Any, document: Any, *, audit: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if audit:
        table = Table(title=f"What {model_file.path} would import")
        table.add_column("name")
        table.add_column("trusted")
        for item in document["imports"]:
            table.add_row(item["name"], "yes" if item["trusted"] else "[bold red]NO[/]")
        console.print(table)
        verdict = "[green]every import is trusted[/]" if document["trusted"] else "[red]untrusted imports: refuses to load[/]"
        console.print(verdict)
        return
    meta = model_file.meta
    framework = meta.get("framework") or {}
    model = meta.get("model") or {}
    table = Table(show_header=False, title=str(model_file.path))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("id", str(meta.get("id")))
    table.add_row("timestamp", str(meta.get("timestamp")))
    table.add_row("framework", f"{framework.get('lib')} {framework.get('version')} ({framework.get('family', 'ml')})")
    table.add_row("model", str(model.get("obj")))
    table.add_row("layout", _layout(model_file))
    for key in ("params", "metrics"):
        for name, value in (model.get(key) or {}).items():
            table.add_row(f"{key}.{name}", str(value))
    for name, value in (meta.get("extra") or {}).items():
        table.add_row(f"extra.{name}", str(value))
    for name, content in model_file.artifacts.items():
        table.add_row("artifact", f"{name} ({len(content)} bytes)")
    console.print(table)


def _layout(model_file: Any) -> str:
    protocol = f" protocol {model_file.protocol}" if model_file.protocol else ""
    return f"{model_file.layout}{protocol}, {model_file.compression}"
