"""Packaging promises: pip users get no Poetry, the core imports nothing from Poetry or boto3 eagerly."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

from .helpers import ROOT

CORE = ROOT / "poetry_pipper"


def test_pip_install_pulls_only_core_dependencies() -> None:
    requirements = [Requirement(r) for r in importlib.metadata.requires("poetry-pipper") or []]
    plain = {r.name for r in requirements if r.marker is None}
    extra = {r.name for r in requirements if r.marker is not None}
    assert plain == {"boto3", "packaging", "cleo"}
    assert {"poetry", "poetry-core"} <= extra  # only with `pip install poetry-pipper[poetry]`


def test_core_never_imports_poetry() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        if "plugin" in path.relative_to(CORE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n == "poetry" or n.startswith("poetry.")]
    assert offenders == []


def test_cli_startup_does_not_import_boto3_for_help() -> None:
    code = ("import sys; from poetry_pipper.cli import application; application();"
            " print('boto3' in sys.modules, 'poetry' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def _import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports: function-level imports count, TYPE_CHECKING blocks do
    not; ``from . import x`` counts as importing the package and, if it is one, the module ``x``."""
    import ast

    files = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and ast.unparse(block.test).endswith("TYPE_CHECKING") for s in block.body for node in ast.walk(s)}
        edges = graph.setdefault(module, set())
        for node in ast.walk(tree):
            if id(node) in typing_only or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = base[:len(base) - node.level + 1] if node.level else []
                prefix = ".".join(base + ([node.module] if node.module else []))
                names = [prefix, *(f"{prefix}.{alias.name}" for alias in node.names)]
            for name in names:
                while name and name not in files:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    edges.add(name)
    return graph


def test_no_import_cycles() -> None:
    """Imports point down (the guide's rule; ../shared/tools/structure.py reads the same graph)."""
    graph = _import_graph(ROOT / "poetry_pipper")
    done: set[str] = set()
    cycles = []
    for start in sorted(graph):
        if start in done:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        while stack:  # depth-first; an edge back into the current path closes a cycle
            step = next(stack[-1], None)
            if step is None:
                done.add(path.pop())
                stack.pop()
            elif step in path:
                cycles.append(" -> ".join([*path[path.index(step):], step]))
            elif step not in done:
                path.append(step)
                stack.append(iter(sorted(graph[step])))
    assert not cycles, cycles
