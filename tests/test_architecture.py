"""The import graph of exporter/, slo/, dashboards/ and openclaw_schema/: no cycles, and layers
that import one way (docs: README "Layout").

    openclaw_schema  (leaf: names, vocabularies, buckets, the strict YAML loader)
        < slo        (spec, model, math, live budget: imports nothing from exporter/ or dashboards/)
        < generators (slo.rules, slo.alert_rules, slo.alert_spec, slo.promql, slo.monitoring, slo.render,
                      slo.report, slo.cli, dashboards/*, mixin/*: the one `generate` pipeline)
    exporter/* (the runtime) imports the schema and slo, never a generator; its CLI loads the
    generator CLIs only inside generator_parser, when such a command runs.

Every import counts: module level, inside functions, and under TYPE_CHECKING (a type-only
import is still a dependency; it is how the config <-> probers cycle hides).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("openclaw_schema", "slo", "dashboards", "mixin", "exporter")
SLO_GENERATORS = {"slo.rules", "slo.alert_rules", "slo.alert_spec", "slo.promql", "slo.monitoring", "slo.render",
                  "slo.report", "slo.cli", "slo.__main__"}
# (importer, imported) allowed to break a layer rule, and where.
ALLOWED_LAYER_EXCEPTIONS = {
    ("exporter.cli", "slo.cli"): "generator_parser",
    ("exporter.cli", "mixin.cli"): "generator_parser",
}
# Edges that close a cycle today, each with the work that removes it.
# Edges allowed to close a cycle (each with its reason); none today.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    function: str | None  # the enclosing top-level function, None at module level
    type_only: bool


def module_files(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: set[str]) -> str | None:
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in modules else None


def imports_of(module: str, source: str, modules: set[str], is_package: bool = False) -> list[Import]:
    """Every import of a project module in `source`, wherever it appears."""
    out: list[Import] = []

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:  # relative: from the importer's package
            package = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
        # `from pkg import sub` imports the submodule pkg.sub when there is one.
        return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]

    def visit(node: ast.AST, function: str | None, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for name in targets(child):
                    resolved = _resolve(name, modules)
                    if resolved is not None and resolved != module:
                        out.append(Import(module, resolved, child.lineno, function, type_only))
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), function, True)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), function, type_only)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, function or child.name, type_only)
            else:
                visit(child, function, type_only)

    visit(ast.parse(source), None, False)
    return out


def import_graph(root: Path = ROOT) -> list[Import]:
    files = module_files(root)
    modules = set(files)
    return [imp for name, path in files.items()
            for imp in imports_of(name, path.read_text(encoding="utf-8"), modules, path.name == "__init__.py")]


def find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    """One cycle of the directed graph as [a, b, ..., a], or None."""
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = walk(start)
            if found:
                return found
    return None


def layer(module: str) -> str:
    top = module.split(".")[0]
    if top == "openclaw_schema":
        return "schema"
    if top in ("dashboards", "mixin") or module in SLO_GENERATORS:
        return "generators"
    return "slo" if top == "slo" else "runtime"


# What each layer may import (besides itself).
MAY_IMPORT = {
    "schema": set(),
    "slo": {"schema"},
    "generators": {"schema", "slo"},
    "runtime": {"schema", "slo"},
}


def layer_violations(imports: list[Import]) -> list[str]:
    out = []
    for imp in imports:
        src, dst = layer(imp.importer), layer(imp.imported)
        if src == dst or dst in MAY_IMPORT[src]:
            continue
        allowed_in = ALLOWED_LAYER_EXCEPTIONS.get((imp.importer, imp.imported))
        if allowed_in is not None and imp.function == allowed_in:
            continue
        where = f" in {imp.function}()" if imp.function else ""
        out.append(f"{imp.importer}:{imp.line}{where} ({src}) imports {imp.imported} ({dst})")
    return out


# --- the project ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graph() -> list[Import]:
    return import_graph()


def test_the_graph_sees_module_function_and_type_only_imports(graph):
    edges = {(i.importer, i.imported): i for i in graph}
    assert ("exporter.app", "exporter.config") in edges
    assert edges[("exporter.app", "exporter.kube.watcher")].function is not None  # lazy: only with the watcher
    assert edges[("exporter.settings.resolved", "exporter.device")].type_only
    assert ("exporter.probes.message", "exporter.probes.gateway_client") in edges  # `from pkg import sub`


def test_no_import_cycles(graph):
    edges = {(i.importer, i.imported) for i in graph} - KNOWN_CYCLE_EDGES
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_known_cycle_exceptions_are_still_needed(graph):
    """An exception that no longer closes a cycle (or no longer exists) must be deleted."""
    edges = {(i.importer, i.imported) for i in graph}
    for edge in KNOWN_CYCLE_EDGES:
        assert edge in edges, f"{edge} is gone: remove it from KNOWN_CYCLE_EDGES"
        assert find_cycle((edges - KNOWN_CYCLE_EDGES) | {edge}), f"{edge} closes no cycle now: remove it"


def test_layers_import_one_way(graph):
    violations = layer_violations(graph)
    assert not violations, "\n".join(violations)


def test_the_schema_is_a_leaf_and_slo_ignores_the_runtime(graph):
    for imp in graph:
        if imp.importer.startswith("openclaw_schema"):
            assert imp.imported.startswith("openclaw_schema"), imp
        if layer(imp.importer) == "slo":
            assert not imp.imported.startswith(("exporter", "dashboards")), imp


# --- the checker itself, on synthetic code ------------------------------------------------------
MODULES = {"exporter", "exporter.app", "exporter.cli", "exporter.config", "exporter.probes", "exporter.probes.base",
           "slo", "slo.model", "slo.rules", "slo.cli", "dashboards", "dashboards.build", "openclaw_schema",
           "openclaw_schema.names"}


def test_checker_resolves_every_form_of_import():
    source = """
import slo.model
from exporter.probes import base
from exporter import config as cfg, app
from . import app as again
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from slo.rules import RuleGroup
def later():
    from dashboards.build import write
"""
    got = {(i.imported, i.function, i.type_only) for i in imports_of("exporter.cli", source, MODULES)}
    assert got == {("slo.model", None, False), ("exporter.probes.base", None, False), ("exporter.config", None, False),
                   ("exporter.app", None, False), ("slo.rules", None, True), ("dashboards.build", "later", False)}


def test_checker_reports_a_cycle_with_its_path():
    assert find_cycle({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == ["a", "b", "c", "a"]
    assert find_cycle({("a", "b"), ("b", "c"), ("a", "c")}) is None


def test_checker_flags_each_layer_violation():
    bad = [
        Import("slo.model", "exporter.config", 3, None, False),  # slo reaching into the runtime
        Import("openclaw_schema.names", "slo.model", 4, None, False),  # the leaf importing upwards
        Import("exporter.app", "slo.rules", 5, "start", False),  # the runtime importing a generator
        Import("exporter.cli", "slo.cli", 6, "build_parser", False),  # allowed only in generator_parser
        Import("dashboards.build", "exporter.app", 7, None, False),  # a generator importing the runtime
    ]
    good = [
        Import("exporter.cli", "slo.cli", 8, "generator_parser", False),
        Import("dashboards.build", "slo.model", 9, None, False),
        Import("exporter.app", "slo.model", 10, None, False),
        Import("slo.rules", "openclaw_schema.names", 11, None, False),
    ]
    assert len(layer_violations(bad)) == len(bad)
    assert layer_violations(good) == []
    assert layer_violations(bad)[2] == "exporter.app:5 in start() (runtime) imports slo.rules (generators)"
