"""The package's modules import each other as a DAG, counting imports under TYPE_CHECKING and inside functions.

A cycle works until someone imports the modules in another order, or moves an annotation out of TYPE_CHECKING;
then it is an ImportError at start-up. The graph is read from the source with `ast`, so nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import PROJECT_DIR

PACKAGE = "local_endpoint"
PACKAGE_DIR = PROJECT_DIR / PACKAGE


def module_name(path: Path, root: Path = PROJECT_DIR) -> str:
    relative = path.relative_to(root).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imported_modules(path: Path, modules: set[str], root: Path = PROJECT_DIR) -> set[str]:
    """The package's modules that `path` imports, wherever in the file the import statement is."""
    this = module_name(path, root)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
    return {name for name in found if name in modules and name != this}


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE_DIR.glob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, modules) for path in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path that starts and ends at the same module, or None for a DAG (depth-first search)."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_the_package_imports_form_a_dag() -> None:
    graph = import_graph()

    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_graph_sees_the_imports_that_could_close_a_cycle() -> None:
    """The reader finds `from local_endpoint import codec`, `from local_endpoint.x import y`, and the package's
    own re-exports, so a cycle through any of them would be reported."""
    graph = import_graph()

    assert "local_endpoint.app" in graph["local_endpoint.server"]
    assert "local_endpoint.codec" in graph["local_endpoint.app"]  # `from local_endpoint import codec, ...`
    assert {"local_endpoint.server", "local_endpoint.config"} <= graph["local_endpoint"]
    assert "local_endpoint.model" in graph["local_endpoint.artifact"]  # imported inside a function


def test_type_checking_and_relative_imports_count(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n")
    (package / "b.py").write_text("from . import c\n")
    (package / "c.py").write_text("from .a import A\n")
    paths = sorted(package.glob("*.py"))
    modules = {module_name(path, tmp_path) for path in paths}

    graph = {module_name(path, tmp_path): imported_modules(path, modules, tmp_path) for path in paths}

    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
