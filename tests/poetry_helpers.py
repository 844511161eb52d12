"""Running the real `poetry` CLI on throw-away consumer projects."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .helpers import Result

#: The test venv's own Poetry (whatever `pip install .[poetry]` gave).
POETRY = str(Path(sys.executable).parent / "poetry")


@dataclass(frozen=True)
class Poetry:
    """One Poetry executable under test, with this checkout installed as its plugin."""

    path: str
    version: str

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def _version_of(executable: str) -> str:
    """The version of the Poetry a venv's ``bin/poetry`` runs, from its dist-info (no process)."""
    venv = Path(executable).parent.parent
    for info in venv.glob("lib/python*/site-packages/poetry-*.dist-info"):
        return info.name.removeprefix("poetry-").removesuffix(".dist-info")
    raise RuntimeError(f"{executable} is not the poetry of a venv with Poetry installed")


def poetries_under_test() -> list[Poetry]:
    """``PIPPER_TEST_POETRY`` (space-separated ``bin/poetry`` paths, set by scripts/test and
    scripts/poetry-matrix from scripts/poetry-venv), else the test venv's own Poetry."""
    paths = os.environ.get("PIPPER_TEST_POETRY", "").split() or [POETRY]
    return [Poetry(path, _version_of(path)) for path in paths]


@dataclass
class Project:
    path: Path
    env: dict[str, str] = field(default_factory=dict)
    executable: str = POETRY

    def poetry(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Result:
        proc = subprocess.run(
            [self.executable, "--no-ansi", "--no-interaction", *args],
            cwd=self.path,
            env={**os.environ, **self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.path / ".venv" / "bin" / "python"), "-c", code],
                              capture_output=True, text=True, check=False)

    def has(self, module: str) -> bool:
        return self.python(f"import {module}").returncode == 0

    @property
    def lock(self) -> str:
        return (self.path / "poetry.lock").read_text()


def pyproject(sources: list[tuple[str, str, str]], dependencies: list[str] | None = None,
              poetry_deps: dict[str, str] | None = None) -> str:
    """sources: (name, url, priority)."""
    deps = ", ".join(f'"{d}"' for d in dependencies or [])
    text = f"""[project]
name = "consumer-app"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = [{deps}]

[tool.poetry]
package-mode = false
"""
    for name, url, priority in sources:
        text += f'\n[[tool.poetry.source]]\nname = "{name}"\nurl = "{url}"\npriority = "{priority}"\n'
    if poetry_deps:
        text += "\n[tool.poetry.dependencies]\n" + "".join(f"{k} = {v}\n" for k, v in poetry_deps.items())
    return text


def poetry_env(base: Path) -> dict[str, str]:
    """An isolated Poetry: own cache, config and in-project venvs; no keyring."""
    return {
        "POETRY_CACHE_DIR": str(base / "poetry-cache"),
        "POETRY_CONFIG_DIR": str(base / "poetry-config"),
        "POETRY_DATA_DIR": str(base / "poetry-data"),
        "POETRY_VIRTUALENVS_IN_PROJECT": "true",
        "POETRY_KEYRING_ENABLED": "false",
        "POETRY_INSTALLER_NO_BINARY": "",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
