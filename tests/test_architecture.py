"""The package layout of DESIGN.md holds: no import cycle between packages, no private reach.

Every ``import`` in ``recsys`` (at module level or inside a function) is read with
``ast``; a module belongs to its package (``recsys.models``, ``recsys.data``, ...) or,
for the top-level modules, to itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import recsys

ROOT = Path(recsys.__file__).parent
# Modules that wire everything together: they may import every package.
ENTRY_POINTS = {"recsys", "recsys.cli", "recsys.demo"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The package a module belongs to (``recsys.models.base`` -> ``recsys.models``)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _imports() -> list[tuple[str, str, list[str]]]:
    """(importing module, imported module, names) for every import inside recsys."""
    found = []
    for path in ROOT.rglob("*.py"):
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("recsys"):
                    found.append((module, node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found.extend(
                    (module, a.name, []) for a in node.names if a.name.startswith("recsys")
                )
    return found


def test_no_package_imports_another_package_private_names() -> None:
    offenders = []
    for module, target, names in _imports():
        if _unit(module) == _unit(target):
            continue
        private_module = any(p.startswith("_") for p in target.split(".")[2:])
        private_names = [n for n in names if n.startswith("_") and n != "__version__"]
        if private_module or private_names:
            offenders.append(f"{module} imports {target} {private_names or ''}")
    assert not offenders, "\n".join(offenders)


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for module, target, _ in _imports():
        a, b = _unit(module), _unit(target)
        if a != b and a not in ENTRY_POINTS and not module.startswith("recsys.demo"):
            graph.setdefault(a, set()).add(b)
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif len(path) < 12:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert not cycles, "\n".join(sorted(set(cycles)))


def test_leaf_modules_do_not_import_the_root_package() -> None:
    offenders = [m for m, target, _ in _imports() if target == "recsys" and m != "recsys"]
    assert not offenders, offenders
