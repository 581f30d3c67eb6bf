"""The package structure holds: no import cycles in `app`, deferred or not, and every package says
what it owns.

import-linter checks the layers, but only over imports it sees at module level in the way it
resolves them; a cycle hidden behind an import inside a function (``from app.x import y`` in a
method body, to dodge the cycle at start-up) is still a cycle in the design. This test builds the
graph with `ast` from every import statement anywhere in a module: top level, inside functions
and classes, and under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"


def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module and package under `root` (a package's own name
    maps to its ``__init__.py``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(node: ast.AST, module: str, is_package: bool, modules: dict[str, Path]) -> set[str]:
    """The modules of the graph one import statement names. ``from X import Y`` imports the
    module X.Y when Y is a submodule, else X; ``import X.Y`` imports X.Y. Names outside the graph
    (the standard library, third parties) are dropped."""
    targets: set[str] = set()
    if isinstance(node, ast.Import):
        targets = {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from the package this module is in (or is)
            package = module.split(".")
            package = package if is_package else package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in modules else base)
    resolved = set()
    for target in targets:  # `import a.b.c` of a name that is an attribute: its longest module
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target:
            resolved.add(target)
    return resolved


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules of `root` it imports anywhere in its body."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _imported(node, name, is_package, modules)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``a -> b -> ... -> a``) for every strongly connected component that has one
    (Tarjan's algorithm, iterative: the graph is a few hundred modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return [_cycle_in(graph, set(component)) for component in components]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module, as a path (breadth first)."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for succ in sorted(graph[node] & component):
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if succ not in parents:
                    parents[succ] = node
                    following.append(succ)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def test_app_has_no_import_cycle() -> None:
    found = cycles(import_graph(APP))
    assert not found, "import cycles (every import counts, deferred or not):\n" + "\n".join(
        " -> ".join(cycle) for cycle in found
    )


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The builder itself: deferred, TYPE_CHECKING, relative and submodule imports are edges,
    and a cycle made only of them is reported."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "def f():\n    from pkg.sub import b\n",
        "sub/__init__.py": "",
        "sub/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n",
        "sub/c.py": "import os\nfrom pkg.a import f\n",
        "d.py": "import pkg.sub.c\nfrom .sub.b import name\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text, encoding="utf-8")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.sub.c"}
    assert graph["pkg.d"] == {"pkg.sub.c", "pkg.sub.b"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.sub.c", "pkg.a"]]
    (pkg / "sub/c.py").write_text("import os\n", encoding="utf-8")
    assert cycles(import_graph(pkg)) == []


def _packages() -> list[Path]:
    return sorted(
        {path.parent for top in ("core", "ui") for path in (APP / top).rglob("*.py")}
        | {APP / "core", APP / "ui"}
    )


@pytest.mark.parametrize("package", _packages(), ids=lambda p: str(p.relative_to(APP.parent)))
def test_every_package_says_what_it_owns(package: Path) -> None:
    init = package / "__init__.py"
    assert init.is_file(), f"{package} holds modules but is not a package (no __init__.py)"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert docstring and docstring.strip(), f"{init} has no docstring saying what it owns"
