#!/usr/bin/env python3
"""Check the package's layering and the scripts' boundaries (``make lint`` runs it; exit 1 on any finding).

The subpackages of ``pipeline`` form layers, and imports flow one way, from a higher layer to a lower one::

    cli                   the ``voc`` command line
    training              train, evaluate, compare, promote; the training config
    scoring | ranking     ``voc score`` and ``voc rank`` (independent of each other)
    topics                taxonomies, topic assignment and discovery
    models                features, classifiers, calibration, bundles, prediction
    data                  readers and writers, datasets, training sources
    text                  normalisation
    base                  pipeline/__init__.py, errors, extras, registry

Every import counts, at the top of a module or inside a function. The checks:

* no module imports one of a higher layer, or of a sibling layer (scoring and ranking);
* no import circle between modules;
* the scripts import only public names of ``pipeline`` (no ``_private`` name or module), never another
  script (what they share is in the package), and never edit ``sys.path`` (the editable install suffices);
* the tests never import a script (they may run one).

The classifier registry (``pipeline/registry.py``) loads the modules that register classifiers by name on
first lookup; that is a plug-in mechanism, not an import, and is not counted.

Usage: ``python scripts/checks/check_layers.py`` (prints the layers and what it found).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "pipeline"

# Top to bottom; names on one line are siblings that must not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("cli", "__main__"),
    ("training",),
    ("scoring", "ranking"),
    ("topics",),
    ("models",),
    ("data",),
    ("text",),
    ("", "errors", "extras", "registry", "benchmarks"),
]
SIBLINGS_INDEPENDENT = {"scoring", "ranking"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def imports(path: Path, name: str, known: set[str]) -> Iterator[tuple[str, int, list[str]]]:
    """``(module imported, line, names taken)`` for every import of a ``pipeline`` module in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield alias.name, node.lineno, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != PACKAGE:
                continue
            names = [alias.name for alias in node.names]
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in known]
            if submodules:  # ``from pipeline.topics import sentence_encoder``: the submodule is what is used
                yield from ((s, node.lineno, []) for s in submodules)
                rest = [n for n in names if f"{base}.{n}" not in known]
                if rest:
                    yield base, node.lineno, rest
            else:
                yield base, node.lineno, names


def layer_of(module: str) -> tuple[int, str]:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    for index, names in enumerate(LAYERS):
        if top in names:
            return index, top
    raise SystemExit(f"{module}: not in any layer of {Path(__file__).name}; add its folder to LAYERS")


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def check_package() -> list[str]:
    modules = package_modules()
    known = set(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    problems = []
    for name, path in modules.items():
        own_layer, own_top = layer_of(name)
        for target, line, _ in imports(path, name, known):
            if target not in known:
                problems.append(f"{path.relative_to(ROOT)}:{line}: imports {target}, which does not exist")
                continue
            if target == name or name.startswith(target + "."):
                continue  # a package's own face, or a module importing its package
            graph[name].add(target)
            layer, top = layer_of(target)
            where = f"{path.relative_to(ROOT)}:{line}: {name} imports {target}"
            if layer < own_layer:
                problems.append(f"{where}: a lower layer ({own_top or 'base'}) imports a higher one ({top})")
            elif layer == own_layer and own_top != top and {own_top, top} <= SIBLINGS_INDEPENDENT:
                problems.append(f"{where}: {own_top} and {top} are independent of each other")
    for component in circles(graph):
        problems.append("import circle: " + " -> ".join(component))
    return problems


def check_scripts_and_tests() -> list[str]:
    problems = []
    known = set(package_modules())
    script_names = {p.stem for p in (ROOT / "scripts").rglob("*.py")}
    for path in sorted((ROOT / "scripts").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        shown = path.relative_to(ROOT)
        for node in ast.walk(tree):
            is_sys = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sys"
            if is_sys and node.attr == "path":
                problems.append(f"{shown}:{node.lineno}: edits or reads sys.path (the editable install suffices)")
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE:
                private = [a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"]
                private += [p for p in (node.module or "").split(".") if p.startswith("_")]
                if private:
                    problems.append(f"{shown}:{node.lineno}: imports private names {private} from {node.module}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == PACKAGE and alias.name not in known:
                        problems.append(f"{shown}:{node.lineno}: imports {alias.name}, which does not exist")
            imported = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            imported += [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for module in imported:
                if module.split(".")[0] in script_names:
                    problems.append(f"{shown}:{node.lineno}: imports the script {module} (shared code: the package)")
    for path in sorted((ROOT / "tests").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, str(path))
        shown = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                taken = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                taken = [node.module or ""]
            else:
                continue
            for module in taken:
                if module.split(".")[0] in script_names | {"scripts"}:
                    problems.append(f"{shown}:{node.lineno}: imports the script {module}")
        if "sys.path" in text or "spec_from_file_location" in text:
            problems.append(f"{shown}: loads code by path (sys.path or spec_from_file_location)")
    return problems


def main() -> int:
    problems = check_package() + check_scripts_and_tests()
    for problem in problems:
        print(problem)
    layers = "  >  ".join(" | ".join(n or "base" for n in names if n != "__main__") for names in LAYERS)
    modules = len(package_modules())
    if problems:
        print(f"{len(problems)} problem(s) in {modules} modules; layers: {layers}")
        return 1
    print(f"layers hold, no import circle, scripts and tests keep apart: {modules} modules; {layers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
