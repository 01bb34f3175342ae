"""The package layout of DESIGN.md holds: no import cycle between packages, no private reach.

Every ``import`` in ``recsys`` (at module level or inside a function) is read with
``ast``; a module belongs to its package (``recsys.models``, ``recsys.data``, ...) or,
for the top-level modules, to itself. The top-level private modules (``recsys._io``,
``recsys._validation``, ...) are the project's shared internals.

Private reach is checked two ways: no import of a private module or name of another
package, and no ``obj._name`` (call or attribute) outside ``self`` / ``cls`` /
``super()`` where ``_name`` is defined only in other packages.
"""

from __future__ import annotations

import ast
import functools
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


@functools.cache
def _private_definitions() -> dict[str, set[str]]:
    """Private names (``_x``, not dunder) each package defines: functions, classes,
    methods, class attributes and ``self._x = ...`` attributes."""
    defined: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        names = defined.setdefault(_unit(_module_name(path)), set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return {unit: {n for n in names if _is_private(n)} for unit, names in defined.items()}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def _is_own(node: ast.expr) -> bool:
    """``self``, ``cls`` or ``super()``: the object's own (or its class's) members."""
    if isinstance(node, ast.Name):
        return node.id in ("self", "cls")
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def _private_reach() -> list[str]:
    """``module: obj._name`` for each use of a private member defined only elsewhere."""
    defined = _private_definitions()
    found = []
    for path in ROOT.rglob("*.py"):
        module = _module_name(path)
        own = defined.get(_unit(module), set())
        elsewhere = set().union(*(n for u, n in defined.items() if u != _unit(module)))
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and _is_private(node.attr)
                and not _is_own(node.value)
                and node.attr in elsewhere - own
            ):
                found.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
    return found


#: Private reach waiting for a public home in its owner's package (each entry must
#: still occur: the test fails once it is gone, so the list cannot go stale).
PENDING: set[str] = set()


def test_no_private_member_of_another_package_is_used() -> None:
    found = _private_reach()
    unexpected = [f for f in found if _strip_line(f) not in PENDING]
    assert not unexpected, "\n".join(unexpected)
    gone = PENDING - {_strip_line(f) for f in found}
    assert not gone, f"no longer used, remove from PENDING: {sorted(gone)}"


def _strip_line(entry: str) -> str:
    module, _, rest = entry.partition(":")
    return f"{module}:{rest.partition(':')[2]}"


def test_private_reach_is_detected() -> None:
    """The check itself: a use of another package's private method is found."""
    source = "def f(model):\n    return model._as_id_series([1], 'users')\n"
    node = ast.parse(source).body[0].body[0].value.func  # type: ignore[attr-defined]
    assert _is_private(node.attr)
    assert not _is_own(node.value)
    assert "_as_id_series" in _private_definitions()["recsys.models"]
    assert "_as_id_series" not in _private_definitions()["recsys.distributed"]
    assert _is_own(ast.parse("super().x").body[0].value.value)  # type: ignore[attr-defined]


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
