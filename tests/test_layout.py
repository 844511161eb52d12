"""Packaging promises: pip users get no Poetry, the core imports nothing from Poetry or boto3 eagerly."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys

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
