"""The package's layers: imports point one way only, and no module imports itself back through others.

    core  <-  sources, dedup, screening, definitions, networks  <-  writers  <-  stages  <-  pipeline  <-  ui

Every ``import`` is read with ``ast``, including imports inside functions. Packages of one layer do not import
each other (a dedup module may import core, never screening); modules within one package may import each other,
as long as there is no cycle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "review"
LAYERS = {"core": 0, "sources": 1, "dedup": 1, "screening": 1, "definitions": 1, "networks": 1,
          "writers": 2, "stages": 3, "pipeline": 4, "ui": 5}


def module_sources(root: Path = PACKAGE) -> dict[str, str]:
    """``{"review.core.store": source text, ...}`` for every module of the package."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = ("review", *path.relative_to(root).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path.read_text(encoding="utf-8")
    return out


def imports_of(name: str, source: str, is_package: bool = False) -> set[str]:
    """Modules of ``review`` that ``source`` imports anywhere (top level or inside functions)."""
    found = set()
    here = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            # `from review.stages import search` imports the module review.stages.search
            found |= {f"{module}.{a.name}" for a in node.names}
    return {m for m in found if m == "review" or m.startswith("review.")}


def layer_of(module: str) -> tuple[int, str]:
    """(layer, package) of a module; the root package ``review`` re-exports core only."""
    parts = module.split(".")
    if len(parts) == 1:
        return 0, "core"
    return LAYERS[parts[1]], parts[1]


def violations(sources: dict[str, str]) -> list[str]:
    """Every import against the layers and every import cycle, as readable lines."""
    graph = nx.DiGraph()
    bad = []
    packages = {m for m in sources if any(other.startswith(m + ".") for other in sources)}
    for name, text in sources.items():
        graph.add_node(name)
        mine, my_pkg = layer_of(name)
        for target in imports_of(name, text, name in packages):
            if target not in sources:
                continue  # a name imported from a module, not a module
            graph.add_edge(name, target)
            theirs, their_pkg = layer_of(target)
            if name == "review":
                continue
            if theirs > mine or (theirs == mine and their_pkg != my_pkg):
                bad.append(f"{name} (layer {mine}, {my_pkg}) imports {target} (layer {theirs}, {their_pkg})")
    bad += [" -> ".join(c + [c[0]]) for c in nx.simple_cycles(graph) if len(c) > 1]
    return bad


def test_every_module_belongs_to_a_layer():
    for name in module_sources():
        assert name == "review" or name.split(".")[1] in LAYERS, f"{name}: put it in one of {sorted(LAYERS)}"


def test_imports_point_down_and_have_no_cycles():
    assert violations(module_sources()) == []


def test_an_upward_import_inside_a_function_is_caught():
    sources = module_sources()
    sources["review.core.sneaky"] = "def f():\n    from review.stages import search\n    return search\n"
    assert set(violations(sources)) == {
        "review.core.sneaky (layer 0, core) imports review.stages (layer 3, stages)",
        "review.core.sneaky (layer 0, core) imports review.stages.search (layer 3, stages)"}


def test_a_sideways_import_between_stage_packages_is_caught():
    sources = module_sources()
    sources["review.dedup.sneaky"] = "from review.screening.rules import rule_matches\n"
    expected = "review.dedup.sneaky (layer 1, dedup) imports review.screening.rules (layer 1, screening)"
    assert expected in violations(sources)


def test_a_cycle_within_a_package_is_caught():
    sources = module_sources()
    sources["review.writers.a"] = "from review.writers import b\n"
    sources["review.writers.b"] = "from . import a\n"
    assert any(set(v.split(" -> ")) == {"review.writers.a", "review.writers.b"} for v in violations(sources))
