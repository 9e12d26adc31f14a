"""The import rules of README.md's Architecture, read from the code: who may import whom in ``monitor/``.

Every ``import`` and ``from … import`` in ``monitor/`` is read with :mod:`ast` (at module level, inside
functions and under ``TYPE_CHECKING`` alike: a lazy import is still a dependency) and resolved to the
module it loads. Each rule is a function from that graph to its violations, so a message names the file,
the line and what was imported; ``test_each_rule_catches_a_planted_violation`` plants one violation per
rule in a copy of the graph, so no rule can silently stop seeing anything.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"

# The types everything reasons about: data only. A 15-minute rollup (monitor.rollup) is data too: a value with its
# mergeable latency sketch and its encoding, folded from results; it imports nothing but monitor.result.
DATA = {"monitor.domain", "monitor.result", "monitor.rollup"}
PURE = {"monitor.incidents", "monitor.matching"}  # the pure functions (README: "a pure function")
# What config and the store may use besides themselves and DATA: errors, owner-only files, the working calendar.
CONFIG_MAY_IMPORT = DATA | {"monitor.errors", "monitor.workcalendar"}
STORE_MAY_IMPORT = DATA | {"monitor.errors", "monitor.private", "monitor.gcpause"}
# Migration 003 scrubs the complaints already stored with today's scrub (store/rescrub.py).
STORE_MAY_IMPORT_BECAUSE = {("monitor.store.rescrub", "monitor.complaints.scrub")}
# None left: complaints/intake.py takes the store from its caller (monitor/assessment.py opens it).
KNOWN_PART_CYCLES: set[frozenset[str]] = set()
# Named like the standard library's http and html; harmless while no one runs a file from their folder.
KNOWN_STDLIB_NAMES = {"monitor.probes.http", "monitor.report.html"}


@dataclass(frozen=True)
class Import:
    """``importer`` imports ``names`` from ``target`` (a module of ``monitor``) at ``line``."""

    importer: str
    target: str
    names: tuple[str, ...]
    line: int

    def __str__(self) -> str:
        shown = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.importer}:{self.line} imports {self.target}{shown}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ``monitor`` that importing ``name`` loads: itself, or the nearest package above it."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Import]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, modules) if alias.name.split(".")[0] == "monitor" else None
                if target is not None:
                    yield Import(module, target, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "monitor":
                continue
            for alias in node.names:  # `from monitor.report import text` imports the module monitor.report.text
                submodule = f"{base}.{alias.name}"
                if submodule in modules:
                    yield Import(module, submodule, (), node.lineno)
                elif (target := _resolve(base, modules)) is not None:
                    yield Import(module, target, (alias.name,), node.lineno)


def import_graph() -> list[Import]:
    modules = _modules()
    return [i for module, path in modules.items() for i in _imports(module, path, modules) if i.target != module]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _part(module: str) -> str:
    """What a module belongs to: a subpackage (``monitor.store``) or, at the top, the module itself."""
    return ".".join(module.split(".")[:2])


def _is_cli(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last == "cli" or last.startswith("cli_")


# --- the rules: each returns its violations --------------------------------------------------------------

def cli_imported_by_library(graph: list[Import]) -> list[str]:
    """Command-line modules (``cli.py``, ``cli_*.py``, ``*/cli.py``) parse and print; no library module uses them."""
    return [str(i) for i in graph if _is_cli(i.target) and not _is_cli(i.importer)]


def private_names_across_modules(graph: list[Import]) -> list[str]:
    """No ``_name`` is imported from another module (config.loader's helpers were; their home is public now),
    and a ``_module`` is imported only from its own package."""
    found = [str(i) for i in graph if any(n.startswith("_") and not n.startswith("__") for n in i.names)]
    for i in graph:
        parent, _, last = i.target.rpartition(".")
        if last.startswith("_") and not last.startswith("__") and not _within(i.importer, parent):
            found.append(f"{i}: a private module of {parent}")
    return found


def data_imports_algorithms(graph: list[Import]) -> list[str]:
    """The domain types (DATA) import nothing but data: no algorithm, no configuration, no store."""
    return [str(i) for i in graph if i.importer in DATA and i.target not in DATA]


def pure_functions_reach_out(graph: list[Import]) -> list[str]:
    """incidents and matching are pure: they import data, each other and the local time zone, nothing else."""
    allowed = DATA | PURE | {"monitor.localtime"}
    return [str(i) for i in graph if i.importer in PURE and i.target not in allowed]


def config_imports_algorithms(graph: list[Import]) -> list[str]:
    """Configuration imports data (its own models, the domain's policies), not the modules that use them."""
    return [str(i) for i in graph if _within(i.importer, "monitor.config")
            and not _within(i.target, "monitor.config") and i.target not in CONFIG_MAY_IMPORT]


def store_imports_algorithms(graph: list[Import]) -> list[str]:
    """The store keeps the domain's data; it imports no algorithm (incidents, matching, classification …)."""
    return [str(i) for i in graph if _within(i.importer, "monitor.store") and not _within(i.target, "monitor.store")
            and i.target not in STORE_MAY_IMPORT and (i.importer, i.target) not in STORE_MAY_IMPORT_BECAUSE]


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def cycles_between_parts(graph: list[Import]) -> list[str]:
    """No import cycle between monitor's parts (subpackages, and top-level modules each a part of its own):
    config <-> complaints was one, through the policies settings imported from incidents and matching."""
    edges: dict[str, set[str]] = {}
    for i in graph:
        if _part(i.importer) != _part(i.target):
            edges.setdefault(_part(i.importer), set()).add(_part(i.target))
    return [" <-> ".join(sorted(c)) + ": " + "; ".join(str(i) for i in graph if _part(i.importer) in c
                                                     and _part(i.target) in c and _part(i.importer) != _part(i.target))
            for c in _cycles(edges) if frozenset(c) not in KNOWN_PART_CYCLES]


def cycles_between_modules(graph: list[Import]) -> list[str]:
    """No import cycle between modules either (a package's ``__init__`` counts as a module)."""
    edges: dict[str, set[str]] = {}
    for i in graph:
        edges.setdefault(i.importer, set()).add(i.target)
    return [" <-> ".join(sorted(c)) for c in _cycles(edges)]


def stdlib_names(modules: list[str]) -> list[str]:
    """No module or package is named like one of the standard library (``monitor/calendar.py`` was)."""
    return [m for m in modules if m.rpartition(".")[2] in sys.stdlib_module_names and m not in KNOWN_STDLIB_NAMES]


RULES: list[Callable[[list[Import]], list[str]]] = [
    cli_imported_by_library, private_names_across_modules, data_imports_algorithms, pure_functions_reach_out,
    config_imports_algorithms, store_imports_algorithms, cycles_between_parts, cycles_between_modules,
]


@pytest.fixture(scope="module")
def graph() -> list[Import]:
    return import_graph()


def test_the_graph_is_read(graph):
    """A reader that saw nothing would pass every rule: it sees the imports we know are there."""
    edges = {(i.importer, i.target) for i in graph}
    assert ("monitor.cli", "monitor.cli_assessment") in edges  # a lazy import inside a function
    assert ("monitor.report.findings", "monitor.report.phrases") in edges  # `from monitor.report import phrases`
    assert ("monitor.store", "monitor.store.interface") in edges
    assert len(graph) > 300


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_import_rule(graph, rule):
    assert rule(graph) == [], f"{rule.__doc__}\n" + "\n".join(rule(graph))


def test_no_module_is_named_like_the_standard_library():
    modules = list(_modules())
    assert stdlib_names(modules) == []
    assert set(modules) >= KNOWN_STDLIB_NAMES, "a known exception was renamed: take it off the list"


def test_the_known_exceptions_are_still_needed(graph):
    """An exception that the code no longer needs goes, so it cannot hide a new violation."""
    assert {(i.importer, i.target) for i in graph} >= STORE_MAY_IMPORT_BECAUSE
    parts = {(_part(i.importer), _part(i.target)) for i in graph}
    for cycle in KNOWN_PART_CYCLES:
        first, second = sorted(cycle)
        assert (first, second) in parts and (second, first) in parts, f"{first} <-> {second} is no cycle now"


PLANTED = {
    cli_imported_by_library: Import("monitor.lab.demo", "monitor.cli_assessment", ("gather_period",), 1),
    private_names_across_modules: Import("monitor.lab.scenario", "monitor.config.loader", ("_Source",), 1),
    data_imports_algorithms: Import("monitor.domain", "monitor.incidents", ("detect",), 1),
    pure_functions_reach_out: Import("monitor.matching", "monitor.store", ("open_store",), 1),
    config_imports_algorithms: Import("monitor.config.settings", "monitor.matching", ("match",), 1),
    store_imports_algorithms: Import("monitor.store.sqlite_evidence", "monitor.incidents", ("detect",), 1),
    cycles_between_parts: Import("monitor.domain", "monitor.config", ("Catalog",), 1),
    cycles_between_modules: Import("monitor.store.interface", "monitor.store", ("Store",), 1),
}


def test_each_rule_catches_a_planted_violation(graph):
    assert set(PLANTED) == set(RULES)
    for rule, planted in PLANTED.items():
        assert rule(graph) == [] and rule([*graph, planted]), rule.__name__
    assert stdlib_names(["monitor.calendar"]) == ["monitor.calendar"]
    assert private_names_across_modules([*graph, Import("monitor.report.text", "monitor.probes._net", (), 1)])
