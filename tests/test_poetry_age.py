"""Poetry's solver.min-release-age (Poetry 2.4 and later) with an s3:// source: the upload times of
the package index decide, as PEP 700 upload times do for Poetry's HTTP sources (plugin/age.py)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from .helpers import backdate, make_wheel
from .poetry_helpers import POETRY, Project, poetry_env, pyproject
from .servers import PublicIndex, RepoUnderTest

pytestmark = pytest.mark.poetry


def _old() -> str:
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_min_release_age_leaves_out_recent_private_versions(
    s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path
) -> None:
    for version in ("1.0.0", "2.0.0"):
        wheel = make_wheel(tmp_path / version, "aged", version, requires=["aged-dep"])
        s3_repo.cli("publish", str(wheel), "-b", s3_repo.url).assert_ok()
    for version in ("1.0.0", "1.1.0"):
        s3_repo.cli("publish", str(make_wheel(tmp_path / f"dep-{version}", "aged-dep", version)), "-b",
                    s3_repo.url).assert_ok()
    core = s3_repo.open()
    for name, version in (("aged", "1.0.0"), ("aged-dep", "1.0.0")):
        backdate(core, name, version, _old())
    s3_repo.cli("reindex", "-b", s3_repo.url).assert_ok()

    path = tmp_path / "app"
    path.mkdir()
    (path / "pyproject.toml").write_text(pyproject([("public", public_index.url + "/", "primary"),
                                                    ("private", s3_repo.url, "supplemental")], ["aged"]))
    app = Project(path, {**poetry_env(tmp_path), **s3_repo.env}, POETRY)
    aged = {"POETRY_SOLVER_MIN_RELEASE_AGE": "7"}
    result = app.poetry("lock", "-v", env=aged).assert_ok()
    lock = app.lock
    # Only what is 7 days old: aged 1.0.0 and, transitively, aged-dep 1.0.0.
    assert 'name = "aged"\nversion = "1.0.0"' in lock and 'name = "aged-dep"\nversion = "1.0.0"' in lock
    assert "solver.min-release-age=7" in result.output and "aged: 2.0.0" in result.output

    # Excluded by name, or the whole source: the newest versions again.
    app.poetry("lock", "--regenerate", env={**aged, "POETRY_SOLVER_MIN_RELEASE_AGE_EXCLUDE": "aged"}).assert_ok()
    assert 'name = "aged"\nversion = "2.0.0"' in app.lock and 'name = "aged-dep"\nversion = "1.0.0"' in app.lock
    app.poetry("lock", "--regenerate", env={**aged, "POETRY_SOLVER_MIN_RELEASE_AGE_EXCLUDE_SOURCE": "private"}).assert_ok()
    assert 'name = "aged"\nversion = "2.0.0"' in app.lock and 'name = "aged-dep"\nversion = "1.1.0"' in app.lock

    # Nothing old enough: Poetry's own failure, naming the versions left out.
    backdate(core, "aged", "1.0.0", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    s3_repo.cli("reindex", "-b", s3_repo.url).assert_ok()
    failed = app.poetry("lock", "--regenerate", env=aged)
    assert failed.code != 0 and "solver.min-release-age=7" in failed.output and "aged: 1.0.0, 2.0.0" in failed.output
