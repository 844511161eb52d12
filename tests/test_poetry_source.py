"""The real `poetry` CLI with s3:// and file:// sources, on real consumer projects."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from poetry_pipper.bundle import make_bundle

from .helpers import make_sdist, make_wheel
from .poetry_helpers import POETRY, Poetry, Project, poetry_env, pyproject
from .servers import AuthS3, PublicIndex, RepoUnderTest

pytestmark = pytest.mark.poetry


def publish(repo: RepoUnderTest, tmp_path: Path, name: str, version: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path / "w" / f"{name}-{version}", name, version, **kwargs)
    bundle, _ = make_bundle(wheel, tmp_path / "b" / f"{name}-{version}")
    repo.cli("publish", str(bundle), "-b", repo.url).assert_ok()


def project(tmp_path: Path, repo: RepoUnderTest, public: PublicIndex, priority: str = "explicit", name: str = "app",
            exe: Poetry | None = None, **kwargs) -> Project:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.mkdir()
    url = repo.url if repo.url.startswith("s3://") else Path(repo.url).as_uri()
    (path / "pyproject.toml").write_text(
        pyproject([("public", public.url + "/", "primary"), ("private", url, priority)], **kwargs)
    )
    return Project(path, {**poetry_env(tmp_path), **repo.env}, exe.path if exe else POETRY)


def chain(repo: RepoUnderTest, tmp_path: Path) -> None:
    """app -> chain-a -> chain-b -> tinypublic (public). chain-a is published first on purpose."""
    publish(repo, tmp_path, "chain-a", "1.0.0", requires=["chain-b>=1"])
    publish(repo, tmp_path, "chain-a", "1.1.0", requires=["chain-b>=1"])
    publish(repo, tmp_path, "chain-b", "1.0.0", requires=["tinypublic>=1"])


def gets(repo: RepoUnderTest) -> Counter[str]:
    """Requests by kind: the root list (the guard's), package indexes, wheels, other methods."""
    kinds: Counter[str] = Counter()
    for r in repo.requests():
        path = r.path.split("?")[0]
        if r.method == "GET":
            kinds["wheel" if path.endswith(".whl") else "root" if path.endswith("/packages/index.json") else "index"] += 1
        else:
            kinds[r.method] += 1
    return kinds


@pytest.mark.poetry_smoke
def test_add_lock_install_and_request_counts(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    chain(s3_repo, tmp_path)
    app = project(tmp_path, s3_repo, public_index, exe=poetry_exe)
    s3_repo.mark()
    app.poetry("add", "chain-a", "--source", "private").assert_ok()
    # The guard's root list, one index GET per private package to resolve, one GET per wheel to install.
    assert gets(s3_repo) == {"root": 1, "index": 2, "wheel": 2}
    assert app.has("chain_a") and app.has("chain_b") and app.has("tinypublic")
    lock = app.lock
    assert 'reference = "private"' in lock and f'url = "{s3_repo.url}"' in lock
    assert "chain_a-1.1.0-py3-none-any.whl" in lock and "sha256:" in lock

    # Locking again from a cold Poetry cache: still one request per private package, no wheels.
    shutil.rmtree(tmp_path / "poetry-cache")
    s3_repo.mark()
    app.poetry("lock", "--regenerate").assert_ok()
    assert gets(s3_repo) == {"root": 1, "index": 2}

    # A fresh venv from the lock does not re-resolve (nor read the root list): only the wheels are fetched...
    shutil.rmtree(app.path / ".venv")
    shutil.rmtree(tmp_path / "poetry-cache")
    s3_repo.mark()
    app.poetry("install").assert_ok()
    assert gets(s3_repo) == {"wheel": 2}
    # ...and a second fresh venv reuses Poetry's artifact cache: zero S3 requests.
    shutil.rmtree(app.path / ".venv")
    s3_repo.mark()
    app.poetry("install").assert_ok()
    assert gets(s3_repo) == {}
    assert app.has("chain_a")


def test_many_files_per_version_are_locked_and_the_right_one_installed(
        s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path) -> None:
    """Every file of a version is in poetry.lock with its sha256, as for PyPI; Poetry installs the one for
    this environment (a lock made here installs on macOS too: its wheel is listed)."""
    import sys

    from packaging.tags import sys_tags

    py = f"cp{sys.version_info.major}{sys.version_info.minor}"
    linux = next(t for t in sys_tags() if t.platform.startswith("manylinux") and t.interpreter == py)
    names = []
    for label, tag in (("linux", f"{py}-{py}-{linux.platform}"), ("mac", "cp312-cp312-macosx_11_0_arm64"),
                       ("windows", f"{py}-{py}-win_amd64")):
        wheel = make_wheel(tmp_path / "w" / label, "native-lib", "1.0.0", tags=[tag], body=f"BUILT_FOR = {label!r}\n")
        s3_repo.cli("publish", str(wheel), "-b", s3_repo.url).assert_ok()
        names.append(wheel.name)
    sdist = make_sdist(tmp_path / "s", "native-lib", "1.0.0")
    s3_repo.cli("publish", str(sdist), "-b", s3_repo.url).assert_ok()
    app = project(tmp_path, s3_repo, public_index)
    s3_repo.mark()
    app.poetry("add", "native-lib", "--source", "private").assert_ok()
    assert gets(s3_repo) == {"root": 1, "index": 1, "wheel": 1}  # one GET to lock, one per wheel to install
    for name in [*names, sdist.name]:
        assert name in app.lock
    assert app.lock.count("sha256:") >= 4
    assert app.python("import native_lib; print(native_lib.BUILT_FOR)").stdout.strip() == "linux"


@pytest.mark.poetry_smoke
def test_file_source_and_source_add(local_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    chain(local_repo, tmp_path)
    path = tmp_path / "app"
    path.mkdir()
    (path / "pyproject.toml").write_text(pyproject([("public", public_index.url + "/", "primary")]))
    app = Project(path, poetry_env(tmp_path), poetry_exe.path)
    app.poetry("source", "add", "private", Path(local_repo.url).as_uri(), "--priority", "explicit").assert_ok()
    app.poetry("add", "chain-a@1.0.0", "--source", "private").assert_ok()
    assert app.python("import chain_a; print(chain_a.VERSION)").stdout.strip() == "1.0.0"
    assert 'reference = "private"' in app.lock


@pytest.mark.parametrize("priority", ["supplemental", "primary"])
@pytest.mark.poetry_smoke
def test_other_priorities(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry, priority: str) -> None:
    chain(s3_repo, tmp_path)
    app = project(tmp_path, s3_repo, public_index, priority=priority, dependencies=["chain-a>=1"], exe=poetry_exe)
    app.poetry("lock").assert_ok()
    assert app.lock.count('reference = "private"') == 2
    app.poetry("install").assert_ok()
    assert app.has("chain_b")


@pytest.mark.poetry_smoke
def test_private_names_never_come_from_the_public_index(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    """`squatted` is 99.0.0 on the public index; the private 1.0.0 is locked."""
    publish(s3_repo, tmp_path, "needs-squatted", "1.0.0", requires=["squatted"])
    publish(s3_repo, tmp_path, "squatted", "1.0.0")  # published after its dependent on purpose
    for priority in ("explicit", "supplemental"):
        app = project(tmp_path, s3_repo, public_index, priority=priority, name=f"app-{priority}", exe=poetry_exe)
        app.poetry("add", "needs-squatted", "--source", "private", "--lock").assert_ok()
        lock = app.lock
        block = lock[lock.index('name = "squatted"'):]
        assert 'version = "1.0.0"' in block.split("[[package]]")[0], lock
        assert 'reference = "private"' in block.split("[[package]]")[0]


@pytest.mark.poetry_smoke
def test_update_sees_new_versions_and_show_latest(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    chain(s3_repo, tmp_path)
    app = project(tmp_path, s3_repo, public_index, priority="supplemental", exe=poetry_exe)
    app.poetry("add", "chain-a@^1.0", "--source", "private").assert_ok()
    publish(s3_repo, tmp_path, "chain-a", "1.2.0", requires=["chain-b>=1"])
    show = app.poetry("show", "--latest").assert_ok().stdout
    assert "chain-a" in show and "1.2.0" in show
    app.poetry("update", "chain-a").assert_ok()
    assert app.python("import chain_a; print(chain_a.VERSION)").stdout.strip() == "1.2.0"
    search = app.poetry("search", "chain").assert_ok().stdout
    assert "chain-a" in search and "chain-b" in search


@pytest.mark.poetry_smoke
def test_republished_version_never_serves_a_stale_hash(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    publish(s3_repo, tmp_path, "mutable", "1.0.0")
    app = project(tmp_path, s3_repo, public_index, exe=poetry_exe)
    app.poetry("add", "mutable", "--source", "private", "--lock").assert_ok()
    first = app.lock
    wheel = make_wheel(tmp_path / "w2", "mutable", "1.0.0", body="CHANGED = True\n")
    bundle, _ = make_bundle(wheel, tmp_path / "b2")
    s3_repo.cli("publish", str(bundle), "-b", s3_repo.url, "--force").assert_ok()
    app.poetry("lock", "--regenerate").assert_ok()
    second = app.lock
    assert first != second
    from poetry_pipper.bundle import sha256_file

    assert sha256_file(wheel) in second


@pytest.mark.poetry_smoke
def test_yanked_versions_are_skipped_unless_pinned(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    from poetry_pipper.lifecycle import yank

    publish(s3_repo, tmp_path, "yanky", "1.0.0")
    publish(s3_repo, tmp_path, "yanky", "1.1.0")
    yank(s3_repo.open(), "yanky:1.1.0", "broken")
    app = project(tmp_path, s3_repo, public_index, exe=poetry_exe)
    app.poetry("add", "yanky", "--source", "private", "--lock").assert_ok()
    assert 'version = "1.0.0"' in app.lock
    pinned = project(tmp_path, s3_repo, public_index, name="pinned", exe=poetry_exe)
    pinned.poetry("add", "yanky==1.1.0", "--source", "private", "--lock").assert_ok()
    assert 'version = "1.1.0"' in pinned.lock


@pytest.mark.poetry_smoke
def test_http_basic_credentials_per_source(auth_s3: AuthS3, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    url = f"s3://{auth_s3.bucket}/poetry-basic-{uuid.uuid4().hex[:8]}"  # one prefix per Poetry under test
    repo = RepoUnderTest(url, auth_s3.env(auth_s3.publisher))
    publish(repo, tmp_path, "basic-auth-pkg", "1.0.0")
    app = project(tmp_path, repo, public_index, exe=poetry_exe)
    no_aws = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    app.env.update(no_aws)
    reader_key, reader_secret = auth_s3.reader
    app.poetry("config", "http-basic.private", reader_key, reader_secret).assert_ok()
    result = app.poetry("add", "basic-auth-pkg", "--source", "private").assert_ok()
    assert reader_secret not in result.output
    assert app.has("basic_auth_pkg")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing-bucket", "bucket 'no-such-bucket-x' does not exist"),
        ("no-credentials", "no credentials: set AWS_PROFILE"),
        ("bad-credentials", "credentials rejected"),
        ("access-denied", "AccessDenied on s3://"),
        ("not-found", "chain-zzz"),
    ],
)
def test_errors_fail_fast_in_one_line(case: str, expected: str, s3_repo: RepoUnderTest, auth_s3: AuthS3,
                                      public_index: PublicIndex, tmp_path: Path) -> None:
    repo = s3_repo
    env: dict[str, str] = {}
    if case == "missing-bucket":
        repo = RepoUnderTest("s3://no-such-bucket-x/p", s3_repo.env, s3_repo.server, "no-such-bucket-x")
    elif case == "no-credentials":
        env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    elif case == "bad-credentials":
        repo = RepoUnderTest(f"s3://{auth_s3.bucket}/p", {**auth_s3.env((auth_s3.reader[0], "wrong-secret"))})
    elif case == "access-denied":
        repo = RepoUnderTest(f"s3://{auth_s3.bucket}/p", {**auth_s3.env(auth_s3.outsider)})
    app = project(tmp_path, repo, public_index, poetry_deps={"chain-zzz": '{version = "*", source = "private"}'})
    result = app.poetry("lock", env=env)
    assert result.code != 0
    assert expected in result.output, result.output
    assert "source 'private'" in result.output or case == "not-found"
    assert "Traceback" not in result.output and "All attempts to connect" not in result.output


def test_poetry_without_the_plugin_fails_on_s3_sources(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path) -> None:
    """Documented in the README: Poetry alone cannot read s3:// sources."""
    app = project(tmp_path, s3_repo, public_index, poetry_deps={"x": '{version = "*", source = "private"}'})
    result = app.poetry("--no-plugins", "lock", env={"POETRY_REQUESTS_TIMEOUT": "2"}, timeout=120)
    assert result.code != 0


def test_plugin_import_is_light() -> None:
    code = "import sys, poetry_pipper.plugin; print(sorted(m for m in ('boto3', 'botocore', 'requests') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_broken_plugin_install_says_install_poetry_pipper(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path) -> None:
    """boto3 missing from Poetry's environment: the error names the fix."""
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "boto3.py").write_text("raise ImportError('No module named boto3')\n")
    app = project(tmp_path, s3_repo, public_index, poetry_deps={"x": '{version = "*", source = "private"}'})
    result = app.poetry("lock", env={"PYTHONPATH": str(blocker)})
    assert result.code != 0
    assert "install poetry-pipper with `poetry self add poetry-pipper`" in result.output, result.output
