"""The plugin against each Poetry under test: its private reaches still work, and old Poetry is refused.

PIPPER_TEST_POETRY (scripts/test: oldest and newest Poetry 2.x plus 1.8.5; scripts/poetry-matrix:
every 2.x minor) selects the Poetry venvs, each with this checkout installed as its plugin.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from poetry_pipper.plugin import SUPPORTED

from .poetry_helpers import Poetry, Project, poetry_env

pytestmark = pytest.mark.poetry


@pytest.mark.poetry_smoke
def test_every_private_reach_works(poetry_exe: Poetry) -> None:
    """plugin/compat.py holds every use of Poetry or cleo internals: each is exercised in that Poetry."""
    python = str(Path(poetry_exe.path).parent / "python")
    code = "from poetry_pipper.plugin import compat; print(compat.self_check())"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", f"Poetry {poetry_exe.version}: {proc.stdout}"


@pytest.mark.poetry_smoke
def test_the_plugin_is_loaded_silently(poetry_exe: Poetry, tmp_path: Path) -> None:
    result = Project(tmp_path, poetry_env(tmp_path), poetry_exe.path).poetry("--version").assert_ok()
    assert result.stderr == "" and poetry_exe.version in result.stdout


def test_poetry_before_2_is_refused_in_one_line(old_poetry: Poetry, tmp_path: Path) -> None:
    """Poetry 1.x keeps working (so that `poetry self update` does); the plugin says why it is not there."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "old"\nversion = "0.1.0"\ndescription = ""\nauthors = []\n'
        '[tool.poetry.dependencies]\npython = "^3.10"\n'
        '[[tool.poetry.source]]\nname = "private"\nurl = "s3://bucket/prefix"\npriority = "explicit"\n'
    )
    project = Project(tmp_path, poetry_env(tmp_path), old_poetry.path)
    expected = (f"poetry-pipper needs Poetry {SUPPORTED}, this is Poetry {old_poetry.version}: the plugin is not loaded"
                " (s3:// and file:// sources will not work); run `poetry self update`")
    for args in (["--version"], ["check"]):
        result = project.poetry(*args).assert_ok()
        assert result.stderr.splitlines() == [expected], result.stderr
    result = project.poetry("pipper", "info", "x")
    assert result.code == 1 and "Traceback" not in result.output
    assert next(line for line in result.stderr.splitlines() if line.strip()) == expected
