"""The layout keeps its promises: no import cycles, spotipy/Typer/sqlite3 in their rooms, a pure core, a true map.

Imports are read from the source with `ast`, lazy ones inside functions included; only those
under `if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "spotify_tophits"
ROOT = PACKAGE.parent
# Where each third-party or stdlib module may be imported, as path prefixes inside the package.
ROOMS = {
    "spotipy": ("spotify/",),
    "typer": ("cli.py",),
    "click": ("cli.py",),
    "sqlite3": ("store/", "archive/"),
}
# Only these read the wall clock or sleep; everything else is given `now`, or `Services.clock` and `Services.sleep`.
CLOCK_READERS = ("services.py", "clock.py", "sandbox/")
WALL_CLOCK = re.compile(r"\btime\.sleep\b|\btime\.time\(|\butc_now\(\)|\bdate\.today\(|\bdatetime\.now\(")
# The pure core: no I/O of its own, so it may import only these modules of the package at run time.
PURE = {
    "charts": set(),
    "ranking": set(),
    "reconcile": {"spotify.models"},
    "matching": set(),
    "titles": set(),
}


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Yield every import statement that runs (lazy ones too), skipping `if TYPE_CHECKING:` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (item for other in node.orelse for item in runtime_imports(ast.Module([other], [])))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from runtime_imports(node)


def imported_names(path: Path) -> set[str]:
    """Return the full names a module imports at run time ("a.b" for `from a import b` when a.b is a module)."""
    modules = package_modules()
    names: set[str] = set()
    for node in runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                inside = full.removeprefix("spotify_tophits.")
                names.add(full if full.startswith("spotify_tophits.") and inside in modules else node.module)
    return names


def internal_graph() -> dict[str, set[str]]:
    """Return, for each package module, the package modules it imports at run time."""
    graph = {}
    for name, path in package_modules().items():
        graph[name] = {
            imported.removeprefix("spotify_tophits.")
            for imported in imported_names(path)
            if imported.startswith("spotify_tophits.") and imported != "spotify_tophits"
        } - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a path of module names, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    assert find_cycle(internal_graph()) is None


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = internal_graph()
    graph["ranking"] = graph["ranking"] | {"store.charts"}

    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"ranking", "store.charts"}


@pytest.mark.parametrize("library", sorted(ROOMS))
def test_a_library_is_imported_only_in_its_room(library):
    outside = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(name == library or name.startswith(f"{library}.") for name in imported_names(path))
        and not str(path.relative_to(PACKAGE)).startswith(ROOMS[library])
    ]
    assert outside == []


@pytest.mark.parametrize("module", sorted(PURE))
def test_the_pure_core_imports_nothing_with_io(module):
    graph = internal_graph()
    allowed = PURE[module] | {"errors", "charts", "ranking", "titles"}

    assert graph[module] - allowed == set()


def test_only_the_services_read_the_wall_clock_or_sleep():
    readers = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if WALL_CLOCK.search(path.read_text(encoding="utf-8"))
        and not str(path.relative_to(PACKAGE)).startswith(CLOCK_READERS)
    ]
    assert readers == []


def test_no_package_module_exceeds_400_lines():
    long = {
        name: lines for name, path in package_modules().items() if (lines := len(path.read_text().splitlines())) > 400
    }
    assert long == {}


def test_architecture_md_names_every_module_and_only_modules_that_exist():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_/]+\.py)`", text))
    files = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")}
    # A package's __init__.py is named through its folder ("store/"); empty docstring-only ones need no line.
    described = files - {name for name in files if name.endswith("__init__.py")}

    assert named - files == set(), "ARCHITECTURE.md names modules that do not exist"
    assert described - named == set(), "modules missing from ARCHITECTURE.md"
    assert len(text.splitlines()) <= 120
