"""Reproducible builds: the same source gives the same bytes, with every backend, whatever the file times."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from poetry_pipper.bundle import read_bundle
from poetry_pipper.errors import PipperError
from poetry_pipper.reproducible import FALLBACK_EPOCH, ZIP_EPOCH, build_environment, epoch_set, source_date_epoch

from .helpers import ROOT, run_cli
from .poetry_helpers import Project, poetry_env

EXAMPLES = ROOT / "examples"
GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")


@pytest.fixture(autouse=True)
def _no_user_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def git(project: Path, *args: str, date: int = 1700000000) -> str:
    env = {**os.environ, "GIT_COMMITTER_DATE": f"@{date} +0000", "GIT_AUTHOR_DATE": f"@{date} +0000",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          env=env, check=True, capture_output=True, text=True).stdout


def copy(example: str, to: Path, mtime: int) -> Path:
    """A copy of an example whose every file and directory has modification time ``mtime``."""
    shutil.copytree(EXAMPLES / example, to)
    for path in [to, *to.rglob("*")]:
        os.utime(path, (mtime, mtime))
    return to


def wheel_dates(bundle: Path, tmp: Path) -> set[tuple[int, ...]]:
    tmp.mkdir(exist_ok=True)
    _meta, wheel = read_bundle(bundle, tmp)
    with zipfile.ZipFile(wheel) as z:
        return {info.date_time for info in z.infolist()}


def zip_date(epoch: int) -> tuple[int, ...]:
    """The date a zip file stores for ``epoch`` (UTC, in 2-second steps)."""
    return datetime.datetime.fromtimestamp(epoch - epoch % 2, datetime.UTC).timetuple()[:6]


# -- SOURCE_DATE_EPOCH --------------------------------------------------------------------------


@needs_git
def test_epoch_is_the_last_commit_time(tmp_path: Path) -> None:
    project = copy("acme-strings", tmp_path / "p", 1234567890)
    assert source_date_epoch(project) == FALLBACK_EPOCH  # not in a git work tree
    git(project, "init", "-q")
    assert source_date_epoch(project) == FALLBACK_EPOCH  # no commit yet
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "one", date=1700000000)
    assert source_date_epoch(project) == 1700000000
    assert source_date_epoch(project / "src") == 1700000000  # anywhere inside the work tree
    (project / "new.txt").write_text("uncommitted changes do not move it")
    assert source_date_epoch(project) == 1700000000
    git(project, "commit", "-q", "--allow-empty", "-m", "old clock", date=100)
    assert source_date_epoch(project) == ZIP_EPOCH  # zip files cannot hold dates before 1980


@needs_git
def test_without_git_the_fallback_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy("acme-strings", tmp_path / "p", 1234567890)
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "one")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert source_date_epoch(project) == FALLBACK_EPOCH


def test_a_user_epoch_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")
    assert source_date_epoch(ROOT) == 1600000000
    assert build_environment(tmp_path)["SOURCE_DATE_EPOCH"] == "1600000000"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", " ")
    assert source_date_epoch(tmp_path) == FALLBACK_EPOCH  # empty means unset


@pytest.mark.parametrize("value", ["abc", "-5", "100", "1e9", "1600000000.5", "99999999999999", "\u0661\u0662"])
def test_a_bad_user_epoch_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(PipperError, match="is not a time a zip file can hold") as exc:
        source_date_epoch(tmp_path)
    assert "\n" not in str(exc.value)


def test_a_bad_user_epoch_under_the_cli(tmp_path: Path) -> None:
    project = copy("acme-strings", tmp_path / "p", 1234567890)
    line = run_cli("bundle", str(project), "--no-isolation", env={"SOURCE_DATE_EPOCH": "yesterday"}).assert_one_line_error()
    assert "SOURCE_DATE_EPOCH='yesterday' is not a time a zip file can hold" in line


def test_epoch_set_restores_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with epoch_set(tmp_path) as epoch:
        assert os.environ["SOURCE_DATE_EPOCH"] == str(epoch) == str(FALLBACK_EPOCH)
    assert "SOURCE_DATE_EPOCH" not in os.environ
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")
    with pytest.raises(RuntimeError), epoch_set(tmp_path):
        raise RuntimeError
    assert os.environ["SOURCE_DATE_EPOCH"] == "1600000000"


# -- pipper bundle ------------------------------------------------------------------------------


@pytest.mark.parametrize("example", ["acme-strings", "acme-math", "acme-report"])  # setuptools, poetry-core, hatchling
def test_bundle_is_byte_identical_from_copies_with_other_file_times(tmp_path: Path, example: str) -> None:
    paths = []
    for run, mtime in (("a", 1111111111), ("b", 1555555555)):
        source = copy(example, tmp_path / f"src-{run}" / example, mtime)
        out = run_cli("bundle", str(source), "-o", str(tmp_path / f"out-{run}"), "--no-isolation", "--json").assert_ok()
        paths.append(Path(json.loads(out.stdout)["path"]))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert wheel_dates(paths[0], tmp_path / "x") == {zip_date(FALLBACK_EPOCH)}


@needs_git
def test_bundle_of_a_git_checkout_is_dated_by_its_last_commit(tmp_path: Path) -> None:
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse"], capture_output=True, check=False).returncode:
        pytest.skip("the source tree is not a git checkout")
    committed = int(subprocess.check_output(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], text=True))
    out = run_cli("bundle", str(EXAMPLES / "acme-strings"), "-o", str(tmp_path), "--no-isolation", "--json").assert_ok()
    assert wheel_dates(Path(json.loads(out.stdout)["path"]), tmp_path / "x") == {zip_date(committed)}


@pytest.mark.parametrize("backend", ["setuptools", "hatchling"])
def test_bundle_ignores_requires_python(tmp_path: Path, backend: str) -> None:
    """Building never checks the project's requires-python against the interpreter building it."""
    project = tmp_path / "future"
    (project / "future_lib").mkdir(parents=True)
    (project / "future_lib" / "__init__.py").write_text("")
    build = {"setuptools": ('["setuptools>=61"]', "setuptools.build_meta"), "hatchling": ('["hatchling"]', "hatchling.build")}[backend]
    (project / "pyproject.toml").write_text(
        f'[build-system]\nrequires = {build[0]}\nbuild-backend = "{build[1]}"\n\n'
        '[project]\nname = "future-lib"\nversion = "1.0"\nrequires-python = ">=3.99"\n'
    )
    out = run_cli("bundle", str(project), "-o", str(tmp_path / "out"), "--no-isolation", "--json").assert_ok()
    meta, _wheel = read_bundle(Path(json.loads(out.stdout)["path"]), tmp_path)
    assert meta.requires_python == ">=3.99"


# -- Poetry -------------------------------------------------------------------------------------


def future_poetry_project(path: Path) -> Path:
    shutil.copytree(EXAMPLES / "acme-math", path)
    pyproject = path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('requires-python = ">=3.9"', 'requires-python = ">=3.99"'))
    return path


@pytest.mark.poetry
def test_poetry_pipper_bundle_is_reproducible_and_ignores_requires_python(tmp_path: Path) -> None:
    bundles = []
    for run, mtime in (("a", 1111111111), ("b", 1555555555)):
        source = copy("acme-math", tmp_path / run / "acme-math", mtime)
        project = Project(source, poetry_env(tmp_path / run))
        project.poetry("pipper", "bundle").assert_ok()
        bundles.append(source / "dist" / "acme-math-2.1.0.pipper")
    assert bundles[0].read_bytes() == bundles[1].read_bytes()
    assert wheel_dates(bundles[0], tmp_path / "x") == {zip_date(FALLBACK_EPOCH)}
    future = Project(future_poetry_project(tmp_path / "future"), poetry_env(tmp_path / "f"))
    future.poetry("pipper", "bundle").assert_ok()
    meta, _wheel = read_bundle(future.path / "dist" / "acme-math-2.1.0.pipper", tmp_path)
    assert meta.requires_python == ">=3.99"


@pytest.mark.poetry
def test_build_sdist_is_reproducible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from poetry.factory import Factory

    from poetry_pipper.dists import inspect_sdist
    from poetry_pipper.plugin.build import build_sdist

    monkeypatch.setenv("POETRY_CONFIG_DIR", str(tmp_path / "config"))
    sdists = []
    for run, mtime in (("a", 1111111111), ("b", 1555555555)):
        source = copy("acme-greetings", tmp_path / run / "acme-greetings", mtime)
        sdists.append(build_sdist(Factory().create_poetry(source), tmp_path / f"out-{run}"))
    assert sdists[0].name == "acme_greetings-1.0.0.tar.gz"
    assert sdists[0].read_bytes() == sdists[1].read_bytes()
    info = inspect_sdist(sdists[0])
    assert info.metadata_trusted and info.requires_dist == ["acme-strings<2.0,>=1.0"] and info.requires_python == ">=3.10"
    assert "SOURCE_DATE_EPOCH" not in os.environ
    future = build_sdist(Factory().create_poetry(future_poetry_project(tmp_path / "future")), tmp_path / "out-future")
    assert inspect_sdist(future).requires_python == ">=3.99"


@pytest.mark.poetry
def test_build_sdist_refuses_a_non_package_project(tmp_path: Path) -> None:
    from poetry.factory import Factory

    from poetry_pipper.plugin.build import build_sdist

    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\n\n[tool.poetry]\npackage-mode = false\n')
    with pytest.raises(PipperError, match="package-mode = false.*no sdist to build"):
        build_sdist(Factory().create_poetry(project), tmp_path / "out")


def test_the_rule_and_the_constant_are_documented() -> None:
    from poetry_pipper.commands.bundle import BundleCommand

    readme = (ROOT / "README.md").read_text()
    for text in (readme, BundleCommand.help):
        assert "SOURCE_DATE_EPOCH" in text and str(FALLBACK_EPOCH) in text and "git -C DIR log -1" in text
        assert "2020-02-02 00:00:00 UTC" in text and "requires-python" in text
