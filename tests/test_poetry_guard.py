"""The guard, with the real `poetry` CLI: a name published in a pipper source is resolved from it only.

The public index (conftest `public_index`) holds `squat 99.0.0`, `legacy-squat 99.0.0`, and
`uses-squat` / `uses-legacy-squat`, public packages that depend on them. The private source
publishes `squat 1.0.0` (or `Legacy_Squat 1.0.0` in the pipper 0.x layout).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .poetry_helpers import POETRY, Poetry, Project, poetry_env, pyproject
from .servers import PublicIndex, RepoUnderTest
from .test_legacy import put_0x
from .test_poetry_source import gets, publish

pytestmark = pytest.mark.poetry

PRIORITIES = ("primary", "supplemental", "explicit")


def app(tmp_path: Path, repo: RepoUnderTest, public: PublicIndex, deps: dict[str, str], *, priority: str = "explicit",
        private_first: bool = False, name: str = "app", exe: Poetry | None = None, extra: str = "") -> Project:
    path = tmp_path / name
    path.mkdir()
    url = repo.url if repo.url.startswith("s3://") else Path(repo.url).as_uri()
    sources = [("public", public.url + "/", "primary"), ("private", url, priority)]
    if private_first:
        sources.reverse()
    (path / "pyproject.toml").write_text(pyproject(sources, poetry_deps=deps) + extra)
    return Project(path, {**poetry_env(tmp_path), **repo.env}, exe.path if exe else POETRY)


def locked(project: Project) -> dict[str, tuple[str, str | None]]:
    """name -> (version, source reference) from poetry.lock."""
    data = tomllib.loads(project.lock)
    return {p["name"]: (p["version"], p.get("source", {}).get("reference")) for p in data.get("package", [])}


@pytest.mark.parametrize("private_first", [False, True], ids=["private-last", "private-first"])
@pytest.mark.parametrize("priority", PRIORITIES)
def test_a_private_name_comes_from_its_source_whatever_the_priority_and_order(
        s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, priority: str, private_first: bool) -> None:
    publish(s3_repo, tmp_path, "squat", "1.0.0")
    project = app(tmp_path, s3_repo, public_index, {"squat": '"*"'}, priority=priority, private_first=private_first)
    project.poetry("lock").assert_ok()
    assert locked(project)["squat"] == ("1.0.0", "private")


@pytest.mark.parametrize("priority", PRIORITIES)
def test_a_transitive_dependency_of_a_public_package(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path,
                                                     priority: str) -> None:
    publish(s3_repo, tmp_path, "squat", "1.0.0")
    project = app(tmp_path, s3_repo, public_index, {"uses-squat": '"*"'}, priority=priority)
    project.poetry("lock").assert_ok()
    assert locked(project) == {"uses-squat": ("1.0.0", "public"), "squat": ("1.0.0", "private")}


@pytest.mark.poetry_smoke
def test_guard_smoke(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    """Direct and transitive, `add` without --source, show --latest, install, -v, a pin to another source."""
    publish(s3_repo, tmp_path, "squat", "1.0.0")
    project = app(tmp_path, s3_repo, public_index, {"squat": '"*"', "uses-squat": '"*"'}, exe=poetry_exe)
    result = project.poetry("lock", "-v").assert_ok()
    assert locked(project)["squat"] == ("1.0.0", "private")
    # One line per guarded name; none for the names the private source does not publish.
    assert result.stderr.count("squat: only from source private, where it is published") == 1, result.stderr
    assert "uses-squat: only" not in result.output
    project.poetry("install").assert_ok()
    assert project.python("import squat; print(squat.VERSION)").stdout.strip() == "1.0.0"
    assert "99.0.0" not in project.poetry("show", "--latest").assert_ok().stdout

    added = app(tmp_path, s3_repo, public_index, {}, priority="supplemental", name="added", exe=poetry_exe)
    added.poetry("add", "squat", "--lock").assert_ok()
    assert locked(added)["squat"] == ("1.0.0", "private")
    assert 'squat (>=1.0.0,<2.0.0)' in (added.path / "pyproject.toml").read_text()

    # Asking for it from another source explicitly is refused, with the way out.
    pinned = app(tmp_path, s3_repo, public_index, {"squat": '{version = "*", source = "public"}'}, name="pinned",
                 exe=poetry_exe)
    result = pinned.poetry("lock")
    assert result.code == 1 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("Creating virtualenv")]
    assert lines == ["squat is published in source 'private', so it is never taken from source 'public': remove"
                     ' `source = "public"` from its dependency, or list it in [tool.poetry-pipper] unguarded'], lines


def test_a_version_only_another_source_has_is_not_found(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(s3_repo, tmp_path, "squat", "1.0.0")
    project = app(tmp_path, s3_repo, public_index, {"squat": '"99.0.0"'}, priority="primary")
    result = project.poetry("lock")
    assert result.code == 1 and "squat" in result.output and "Traceback" not in result.output
    assert not (project.path / "poetry.lock").exists()


@pytest.mark.parametrize("priority", ["primary", "explicit"])
def test_names_of_a_0x_bucket_are_guarded(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, priority: str) -> None:
    """A bucket with only the pipper 0.x layout has no root list: its folders are the published names."""
    put_0x(s3_repo, tmp_path, "Legacy_Squat", "1.0.0")
    project = app(tmp_path, s3_repo, public_index, {"legacy-squat": '"*"', "uses-legacy-squat": '"*"'},
                  priority=priority)
    s3_repo.mark()
    project.poetry("lock").assert_ok()
    assert locked(project)["legacy-squat"] == ("1.0.0", "private")
    # The root list (missing) once, then the one LIST of the root that the 0.x reader shares, and one
    # LIST of the package's folder.
    requests = [(r.method, r.path.split("?")[0].split("/", 2)[-1]) for r in s3_repo.requests()]
    assert requests.count(("GET", "team/packages/index.json")) == 1, requests
    assert requests.count(("GET", s3_repo.bucket)) == 2, requests


def test_0x_names_beside_a_root_list_are_guarded(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path) -> None:
    """0.x-only names are in the root list (``legacy``): those there when it was created, and the
    ones added later by a pipper 0.x client once `pipper reindex` ran (verify reports them until then)."""
    put_0x(s3_repo, tmp_path, "Legacy_Squat", "1.0.0")
    publish(s3_repo, tmp_path, "modern", "1.0.0")  # the bucket's first publish in this format
    project = app(tmp_path, s3_repo, public_index, {"uses-legacy-squat": '"*"'}, priority="explicit")
    project.poetry("lock").assert_ok()
    assert locked(project)["legacy-squat"] == ("1.0.0", "private")

    put_0x(s3_repo, tmp_path, "Squatted", "1.0.0")  # a pipper 0.x client publishes a new package later
    report = s3_repo.cli("verify", "-b", s3_repo.url).stdout
    assert "unlisted-package: packages/index.json: squatted (pipper 0.x layout)" in report
    s3_repo.cli("reindex", "-b", s3_repo.url).assert_ok()
    later = app(tmp_path, s3_repo, public_index, {"squatted": '"*"'}, priority="supplemental", name="later")
    later.poetry("lock").assert_ok()
    assert locked(later)["squatted"] == ("1.0.0", "private")


def test_opting_out_per_name(local_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(local_repo, tmp_path, "squat", "1.0.0")
    publish(local_repo, tmp_path, "squatted", "1.0.0")
    optout = '\n[tool.poetry-pipper]\nunguarded = ["Squat"]\n'
    project = app(tmp_path, local_repo, public_index, {"squat": '"*"', "squatted": '"*"'}, priority="supplemental",
                  extra=optout)
    result = project.poetry("lock", "-v").assert_ok()
    # Poetry's priorities decide for the opted-out name (the primary public index wins), the guard for the other.
    assert locked(project) == {"squat": ("99.0.0", "public"), "squatted": ("1.0.0", "private")}
    assert "squat: from any source ([tool.poetry-pipper] unguarded)" in result.stderr


@pytest.mark.parametrize(("table", "expected"), [
    ('unguarded = "squat"', '[tool.poetry-pipper] unguarded must be a list of package names, like ["squat"]'),
    ('unguarded = ["not a name"]', "[tool.poetry-pipper] unguarded: 'not a name' is not a package name"),
    ('unguard = ["squat"]', "[tool.poetry-pipper] has no setting 'unguard' (known: unguarded)"),
])
def test_a_bad_opt_out_is_one_line(local_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, table: str,
                                   expected: str) -> None:
    project = app(tmp_path, local_repo, public_index, {"squat": '"*"'}, extra=f"\n[tool.poetry-pipper]\n{table}\n")
    result = project.poetry("lock")
    assert result.code == 1 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("Creating virtualenv")]
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_one_root_list_get_per_source_and_only_when_resolving(s3_repo: RepoUnderTest, public_index: PublicIndex,
                                                              tmp_path: Path) -> None:
    publish(s3_repo, tmp_path, "squat", "1.0.0")
    other = RepoUnderTest(f"s3://{s3_repo.bucket}/other", s3_repo.env, s3_repo.server, s3_repo.bucket)
    publish(other, tmp_path, "other-lib", "1.0.0")
    project = app(tmp_path, s3_repo, public_index, {"squat": '"*"', "other-lib": '{version = "*", source = "other"}',
                                                    "uses-squat": '"*"', "tinypublic": '"*"'},
                  extra=f'\n[[tool.poetry.source]]\nname = "other"\nurl = "{other.url}"\npriority = "explicit"\n')
    s3_repo.mark()
    for args in (["--version"], ["check"], ["pipper", "info", "--help"]):
        project.poetry(*args).assert_ok()
    project.poetry("show", "--tree")  # no lock yet: Poetry says so
    assert s3_repo.requests() == []
    project.poetry("lock").assert_ok()
    roots = [r.path.split("?")[0] for r in s3_repo.requests() if r.path.split("?")[0].endswith("/packages/index.json")]
    assert sorted(roots) == [f"/{s3_repo.bucket}/other/packages/index.json", f"/{s3_repo.bucket}/team/packages/index.json"]
    assert gets(s3_repo) == {"root": 2, "index": 2}  # + squat's and other-lib's indexes: nothing else
    s3_repo.mark()
    project.poetry("install").assert_ok()
    assert gets(s3_repo) == {"wheel": 2}


def test_a_lock_that_took_a_private_name_elsewhere(local_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path) -> None:
    """A lock made while the name was opted out (or before the guard) names the public package: locking
    again says what to do, in one line; `poetry update NAME` takes it from its source."""
    publish(local_repo, tmp_path, "squat", "1.0.0")
    optout = '\n[tool.poetry-pipper]\nunguarded = ["squat"]\n'
    project = app(tmp_path, local_repo, public_index, {"squat": '"*"'}, priority="supplemental", extra=optout)
    project.poetry("lock").assert_ok()
    assert locked(project)["squat"] == ("99.0.0", "public")
    pyproject_toml = project.path / "pyproject.toml"
    pyproject_toml.write_text(pyproject_toml.read_text().replace(optout, ""))
    result = project.poetry("lock")
    assert result.code == 1 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("Creating virtualenv")]
    assert lines == ["squat 99.0.0 is not in source 'private', where squat is published, and no other source's squat"
                     " is used: if poetry.lock has it from elsewhere, run `poetry update squat`"], result.stderr
    project.poetry("update", "squat", "--lock").assert_ok()
    assert locked(project)["squat"] == ("1.0.0", "private")


def test_commands_that_do_not_resolve_load_nothing_heavy(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path) -> None:
    """The plugin is active (s3:// source, guarded pool) but boto3 and the core are not even imported."""
    project = app(tmp_path, s3_repo, public_index, {"squat": '"*"'})
    code = (
        "import sys\n"
        "from poetry.console.application import Application\n"
        "sys.argv = ['poetry', 'check']\n"
        "application = Application()\n"
        "application.auto_exits(False)\n"
        "code = application.run()\n"
        "from poetry.factory import Factory\n"
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore') or m in"
        " ('poetry_pipper.repository', 'poetry_pipper.storage', 'poetry_pipper.legacy')))\n"
        "pool = Factory().create_poetry(cwd=__import__('pathlib').Path('.')).pool\n"
        "print(type(pool).__name__, [type(r).__name__ for r in pool.all_repositories])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=project.path, capture_output=True, text=True, check=False,
                          env={**os.environ, **project.env})
    assert proc.stdout.splitlines()[-2:] == ["0 []", "GuardedPool ['LegacyRepository', 'PipperSource']"], proc.stderr
