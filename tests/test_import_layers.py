"""The import graph of cds_service stays layered: no module reaches itself through its imports
(deferred imports inside functions count too: they hide a cycle, they do not remove it), and the
packages under cds_service form no cycle either, so each stage can be read and tested alone."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cds_service"


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """module -> the cds_service modules it imports (a name imported from a package counts as its
    submodule when there is one, else as the package)."""
    files = {_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join(base + ([node.module] if node.module else []))
                targets |= {f"{source}.{a.name}" if f"{source}.{a.name}" in files else source for a in node.names}
        graph[module] = {_known(t, files) for t in targets} - {"", module}
    return graph


def _known(target: str, files: dict) -> str:
    while target and target not in files:
        target = target.rpartition(".")[0]
    return target


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_module_imports_itself_through_others():
    graph = _graph()
    assert len(graph) > 50  # the walk found the package
    assert _cycle(graph) is None


def test_the_packages_form_no_cycle():
    """cds_service.<first part>: the app factory (cds_service itself) sits on top and is left out."""

    def top(module: str) -> str:
        return module.split(".")[1] if "." in module else ""

    packages: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        if top(module):
            packages.setdefault(top(module), set()).update(t for t in map(top, targets) if t and t != top(module))
    assert _cycle(packages) is None
