"""The readable, terminal-only rendering of `flm inspect` (rich is imported here only).

Everything shown comes from the file, so every name and value is made inert first: control
characters (ANSI escapes, newlines that would forge lines) become visible escapes, rich markup is
escaped, and values of any type or depth are shown as compact, cut JSON rather than interpreted.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Lone surrogates too (JSON's "\ud800", a tar name's undecodable byte): a terminal's UTF-8 cannot write them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
MAX_VALUE = 200


def safe(value: Any) -> str:
    """`value` as one inert line of text for a terminal."""
    from rich.markup import escape

    text = value if isinstance(value, str) else _compact(value)
    text = _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)
    if len(text) > MAX_VALUE:
        text = text[:MAX_VALUE] + "…"
    return escape(text)


def _compact(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
    except (RecursionError, ValueError):
        return f"<{type(value).__name__} nested too deep to show>"


def _items(value: Any) -> list[tuple[str, Any]]:
    """Key/value rows of a metadata object; a value of another type is one row without a key."""
    if isinstance(value, dict):
        return [(str(key), item) for key, item in value.items()]
    if value is None:
        return []
    return [("", value)]


def show(model_file: Any, document: Any, *, audit: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if audit:
        table = Table(title=f"What {safe(str(model_file.path))} would import")
        table.add_column("name")
        table.add_column("trusted")
        for item in document["imports"]:
            table.add_row(safe(item["name"]), "yes" if item["trusted"] else "[bold red]NO[/]")
        console.print(table)
        verdict = "[green]every import is trusted[/]" if document["trusted"] else "[red]untrusted imports: refuses to load[/]"
        console.print(verdict)
        return
    meta = model_file.meta
    framework = meta.get("framework") if isinstance(meta.get("framework"), dict) else {}
    model = meta.get("model") if isinstance(meta.get("model"), dict) else {}
    table = Table(show_header=False, title=safe(str(model_file.path)))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("id", safe(meta.get("id")))
    table.add_row("timestamp", safe(meta.get("timestamp")))
    table.add_row("framework", safe(f"{framework.get('lib')} {framework.get('version')} "
                                    f"({framework.get('family', 'ml')})"))
    table.add_row("model", safe(model.get("obj")))
    table.add_row("layout", safe(_layout(model_file)))
    table.add_row("checksum", "yes: every section's content is verified on read" if model_file.checksummed
                  else "[yellow]no[/]: a corrupted byte may go unnoticed")
    for key in ("params", "metrics"):
        for name, value in _items(model.get(key)):
            table.add_row(safe(f"{key}.{name}" if name else key), safe(value))
    for name, value in _items(meta.get("extra")):
        table.add_row(safe(f"extra.{name}" if name else "extra"), safe(value))
    if "capabilities" in meta:
        table.add_row("capabilities", safe(meta.get("capabilities")))
    for name, content in model_file.artifacts.items():
        table.add_row("artifact", f"{safe(name)} ({len(content)} bytes)")
    console.print(table)


def _layout(model_file: Any) -> str:
    protocol = f" protocol {model_file.protocol}" if model_file.protocol else ""
    return f"{model_file.layout}{protocol}, {model_file.compression}"
