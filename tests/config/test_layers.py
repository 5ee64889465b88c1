"""The import structure (docs/architecture.md, "Layers"): no module imports another that,
directly or through others, imports it back, and apps import one way, in the layer order
of .importlinter, with its listed exceptions only.

A lazy import (inside a function) counts like any other: it only ever keeps torch out of
the web process, never hides a cycle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
from django.conf import settings

PACKAGES = ("api", "accounts", "jobs", "config", "world", "catalog", "translation", "audit", "exports", "training", "evaluation", "study", "home")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The graph's strongly connected components of more than one module (Tarjan's algorithm,
    iterative): each is a set of modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            following = next(imported, None)
            if following is not None:
                if following not in index:
                    index[following] = low[following] = len(index)
                    stack.append(following)
                    on_stack.add(following)
                    work.append((following, iter(sorted(graph.find_modules_directly_imported_by(following)))))
                elif following in on_stack:
                    low[module] = min(low[module], index[following])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """Each import inside the cycle, with its line: what to cut."""
    lines = [" <-> ".join(cycle)]
    for importer in cycle:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & set(cycle)):
            for detail in graph.get_import_details(importer=importer, imported=imported):
                lines.append(f"    {importer}:{detail['line_number']}  {detail['line_contents']}")
    return "\n".join(lines)


def test_no_module_imports_itself_back():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)
    cycles = import_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(describe(graph, cycle) for cycle in cycles)


def test_a_cycle_is_found_and_named():
    graph = grimp.ImportGraph()
    for importer, imported in [("a.x", "a.y"), ("a.y", "a.z"), ("a.z", "a.x"), ("a.z", "a.w")]:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    assert import_cycles(graph) == [["a.x", "a.y", "a.z"]]
    assert "a.z:1  import a.x" in describe(graph, ["a.x", "a.y", "a.z"])


def test_apps_import_in_the_layer_order():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--no-cache", "--no-logo", ".importlinter"], cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
