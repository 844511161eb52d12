"""`poetry pipper prune` with the real Poetry CLI: the project's source, and its own poetry.lock kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .poetry_helpers import Poetry, Project, poetry_env, pyproject
from .prune_helpers import publish, versions
from .servers import PublicIndex, RepoUnderTest

pytestmark = pytest.mark.poetry


@pytest.mark.poetry_smoke
def test_poetry_pipper_prune_keeps_what_the_poetry_lock_pins(s3_repo: RepoUnderTest, public_index: PublicIndex,
                                                             tmp_path: Path, poetry_exe: Poetry) -> None:
    repo = s3_repo.open()
    publish(repo, tmp_path, "acme-greetings", ["1.0.0"])
    path = tmp_path / "app"
    path.mkdir()
    (path / "pyproject.toml").write_text(pyproject(
        [("private", s3_repo.url, "explicit"), ("public", f"{public_index.url}/", "primary")],
        ["acme-greetings (>=1.0,<2.0)"], {"acme-greetings": '{ source = "private" }'}))
    app = Project(path, {**poetry_env(tmp_path), **s3_repo.env}, poetry_exe.path)
    app.poetry("lock").assert_ok()
    assert 'name = "acme-greetings"\nversion = "1.0.0"' in app.lock
    publish(repo, tmp_path, "acme-greetings", ["1.1.0", "1.2.0"])

    # Without the lock, --keep 1 would remove the version the project is locked to.
    plan = json.loads(app.poetry("pipper", "prune", "--keep", "1", "--dry-run", "--json").assert_ok().stdout)
    assert {d["version"]: d["action"] for d in plan["decisions"]} == {"1.2.0": "keep", "1.1.0": "delete", "1.0.0": "delete"}
    out = app.poetry("pipper", "prune", "acme-greetings", "--keep", "1", "--keep-locked", "poetry.lock").assert_ok().stdout
    assert "keep acme-greetings 1.0.0 (1 file, " in out and "locked by poetry.lock (acme-greetings 1.0.0)" in out
    assert versions(s3_repo.open(), "acme-greetings") == ["1.0.0", "1.2.0"]
    app.poetry("install").assert_ok()  # the lock still installs
    assert app.has("acme_greetings")
