"""The package's shape: no import cycles between flmcli's modules, and no module reaching into another's privates.

Imports inside functions count (a cycle deferred to call time is still a cycle); imports under
`if TYPE_CHECKING:` do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "flmcli"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in known:
                    found.add(f"{target}.{alias.name}")
                elif target in known:
                    found.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    found.discard(name)
    return found


def test_no_import_cycles() -> None:
    found = modules()
    graph = {name: imports(name, path, set(found)) for name, path in found.items()}
    cycles = []
    for start, direct in graph.items():
        # every module reachable from `start`; a cycle is `start` reachable from itself
        seen: set[str] = set()
        todo = list(direct)
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
        if start in seen:
            cycles.append(start)
    assert cycles == []


def test_no_private_names_imported_or_reached_across_modules() -> None:
    found = modules()
    reaches = []
    for name, path in found.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text())
        ours: set[str] = set()  # local names bound to flmcli modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _target(package, node)
                if not target.startswith("flmcli"):
                    continue  # another library's privates are its business (and ours to keep working)
                reaches += [f"{name}: {alias.name}" for alias in node.names if _private(alias.name)]
                ours.update(alias.asname or alias.name for alias in node.names if f"{target}.{alias.name}" in found)
            elif isinstance(node, ast.Import):
                ours.update(alias.asname for alias in node.names if alias.asname and alias.name in found)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ours:
                    reaches.append(f"{name}: {ast.unparse(node)}")
    assert reaches == []


def _target(package: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")
