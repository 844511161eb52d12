"""Releases with many files (format v2): platform wheels and sdists, chosen for the target environment.

Platform wheels for tags other than this machine's are written directly (tests/helpers.make_wheel:
a zip with Tag: lines and RECORD hashes), so no compiler is needed. This machine is linux x86_64,
CPython 3.11: installs must get the linux wheel, `download --platform macosx_11_0_arm64
--python-version 3.12` the macOS one.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
from packaging.tags import sys_tags

from poetry_pipper.index import DistFile, PackageIndex

from .helpers import make_sdist, make_wheel, run_cli
from .servers import PublicIndex, RepoUnderTest, Venv, pip_env

PY = f"cp{sys.version_info.major}{sys.version_info.minor}"
LINUX = next(t for t in sys_tags() if t.platform.startswith("manylinux") and t.interpreter == PY)
TAGS = {
    "linux": f"{PY}-{PY}-{LINUX.platform}",
    "linux-arm": f"{PY}-{PY}-manylinux_2_17_aarch64",
    "mac": "cp312-cp312-macosx_11_0_arm64",
    "windows": f"{PY}-{PY}-win_amd64",
}


def platform_files(tmp_path: Path, name: str, version: str, **kwargs) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """One wheel per platform of TAGS (each with its own body) and an sdist."""
    files = {}
    for label, tag in TAGS.items():
        body = f"BUILT_FOR = {label!r}\n"
        files[label] = make_wheel(tmp_path / "dist" / label, name, version, tags=[tag], body=body, **kwargs)
    files["sdist"] = make_sdist(tmp_path / "dist" / "sdist", name, version, **kwargs)
    return files


def index_of(repo: RepoUnderTest, name: str) -> PackageIndex:
    return repo.open().require_index(name)


def test_separate_ci_jobs_add_files_to_one_version(repo: RepoUnderTest, tmp_path: Path) -> None:
    files = platform_files(tmp_path, "native", "1.0.0")
    for label in ("linux", "mac", "windows", "linux-arm", "sdist"):  # one CI job per platform, in turn
        out = repo.cli("publish", str(files[label]), "-b", repo.url).assert_ok().stdout
        assert f"Published native 1.0.0 ({files[label].name})" in out
    release = index_of(repo, "native").releases["1.0.0"]
    assert sorted(release.files) == sorted(p.name for p in files.values())
    assert {f.sha256 for f in release.files.values()} == {f.sha256 for f in release.files.values()}
    page = repo.open().storage.get("simple/native/index.html")
    assert page is not None and page.data.count(b"<a ") == 5
    # The same file again: nothing to do; the same name with other bytes: refused unless --force.
    assert "already published" in repo.cli("publish", str(files["mac"]), "-b", repo.url).assert_ok().stdout
    other = make_wheel(tmp_path / "other", "native", "1.0.0", tags=[TAGS["mac"]], body="X = 2\n")
    line = repo.cli("publish", str(other), "-b", repo.url).assert_one_line_error()
    assert "already published with different content" in line and other.name in line
    result = json.loads(repo.cli("publish", str(other), "-b", repo.url, "--force", "--json").assert_ok().stdout)
    assert result["status"] == "replaced"
    release = index_of(repo, "native").releases["1.0.0"]
    assert len(release.files) == 5 and release.files[other.name].sha256 == result["sha256"]
    assert "no drift" in repo.cli("verify", "-b", repo.url).assert_ok().stdout


def test_publish_a_directory_of_platform_wheels_and_an_sdist(repo: RepoUnderTest, tmp_path: Path) -> None:
    files = platform_files(tmp_path, "dirpkg", "2.0")
    dist = tmp_path / "all"
    dist.mkdir()
    for path in files.values():
        (dist / path.name).write_bytes(path.read_bytes())
    results = json.loads(repo.cli("publish", str(dist), "-b", repo.url, "--json").assert_ok().stdout)
    assert sorted(r["filename"] for r in results) == sorted(p.name for p in files.values())
    assert {r["status"] for r in results} == {"published"}
    info = json.loads(repo.cli("info", "dirpkg", "-b", repo.url, "--json").assert_ok().stdout)
    (version,) = info["versions"]
    assert sorted(f["filename"] for f in version["files"]) == sorted(p.name for p in files.values())
    assert version["installable"] is True


def test_install_gets_the_linux_wheel(s3_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    files = platform_files(tmp_path, "native-inst", "1.0.0")
    for path in files.values():
        s3_repo.cli("publish", str(path), "-b", s3_repo.url).assert_ok()
    env = {**s3_repo.env, **pip_env(public_index)}
    plan = json.loads(run_cli("install", "native-inst", "--dry-run", "--json", "-b", s3_repo.url,
                              python=venv.python, env=env).assert_ok().stdout)
    assert [s["file"] for s in plan] == [files["linux"].name]
    s3_repo.mark()
    run_cli("install", "native-inst", "-b", s3_repo.url, python=venv.python, env=env).assert_ok()
    assert venv.run("import native_inst; print(native_inst.BUILT_FOR)").stdout.strip() == "linux"
    gets = Counter("wheel" if r.path.split("?")[0].endswith(".whl") else "index" for r in s3_repo.requests()
                   if r.method == "GET")
    assert gets == {"index": 1, "wheel": 1}  # one GET to resolve, one per wheel to install


def test_download_for_another_machine(repo: RepoUnderTest, tmp_path: Path) -> None:
    files = platform_files(tmp_path, "native-dl", "1.0.0")
    for path in files.values():
        repo.cli("publish", str(path), "-b", repo.url).assert_ok()
    out = tmp_path / "mac"
    repo.cli("download", "native-dl", "-e", "--platform", "macosx_11_0_arm64", "--python-version", "3.12",
             "-b", repo.url, "-d", str(out)).assert_ok()
    assert sorted(p.name for p in out.iterdir()) == sorted([files["mac"].name, "native-dl-1.0.0.json"])
    out = tmp_path / "win"
    repo.cli("download", "native-dl", "-e", "--platform", "win_amd64", "-b", repo.url, "-d", str(out)).assert_ok()
    assert files["windows"].name in {p.name for p in out.iterdir()}
    # No wheel for FreeBSD: the sdist; refused with --only-binary, in one line naming each file.
    out = tmp_path / "bsd"
    repo.cli("download", "native-dl", "--platform", "freebsd_14_0_amd64", "-b", repo.url, "-d", str(out)).assert_ok()
    assert [p.name for p in out.iterdir()] == [files["sdist"].name]
    line = repo.cli("download", "native-dl", "--platform", "freebsd_14_0_amd64", "--only-binary", "-b", repo.url,
                    "-d", str(tmp_path / "none")).assert_one_line_error()
    assert "native-dl" in line and "--only-binary" in line and "platform" in line
    line = repo.cli("download", "native-dl", "--platform", "macosx-11", "-b", repo.url).assert_one_line_error()
    assert "macosx-11" in line


def test_requires_python_and_markers(repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    repo.cli("publish", str(make_wheel(tmp_path / "a", "modern", "1.0")), "-b", repo.url).assert_ok()
    repo.cli("publish", str(make_wheel(tmp_path / "b", "modern", "2.0", requires_python=">=3.99")),
             "-b", repo.url).assert_ok()
    repo.cli("publish", str(make_wheel(tmp_path / "c", "windows-only", "1.0")), "-b", repo.url).assert_ok()
    repo.cli("publish", str(make_wheel(tmp_path / "d", "uses", "1.0",
                                        requires=["modern", 'windows-only; os_name == "nt"'])),
             "-b", repo.url).assert_ok()
    env = {**repo.env, **pip_env(public_index)}
    plan = json.loads(run_cli("install", "uses", "--dry-run", "--json", "-b", repo.url, python=venv.python,
                              env=env).assert_ok().stdout)
    assert sorted((s["name"], s["version"]) for s in plan) == [("modern", "1.0"), ("uses", "1.0")]
    result = run_cli("install", 'windows-only; os_name == "nt"', "--dry-run", "-b", repo.url, python=venv.python,
                     env=env).assert_ok()
    assert "Ignoring windows-only" in result.stderr and "windows-only" not in result.stdout
    # For a Python 3.99 machine, 2.0 is the one; info marks 2.0 as not installable here.
    out = tmp_path / "future"
    repo.cli("download", "modern", "--python-version", "3.99", "-b", repo.url, "-d", str(out)).assert_ok()
    assert [p.name for p in out.iterdir()] == ["modern-2.0.pipper"]
    info = json.loads(repo.cli("info", "modern", "-b", repo.url, "--json").assert_ok().stdout)
    assert info["latest"] == "1.0"
    assert [(v["version"], v["installable"]) for v in info["versions"]] == [("1.0", True), ("2.0", False)]
    assert "no file for this interpreter" in repo.cli("info", "modern", "-b", repo.url).assert_ok().stdout


def test_an_sdist_is_installed_only_when_no_wheel_fits(s3_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex,
                                                      tmp_path: Path) -> None:
    s3_repo.cli("publish", str(make_sdist(tmp_path / "s", "srconly", "1.0", body="SOURCE = 'sdist'\n")),
                "-b", s3_repo.url).assert_ok()
    env = {**s3_repo.env, **pip_env(public_index), "PIP_NO_BUILD_ISOLATION": "0"}
    line = run_cli("install", "srconly", "--only-binary", "-b", s3_repo.url, python=venv.python,
                   env=env).assert_one_line_error()
    assert "srconly-1.0.tar.gz" in line and "--only-binary" in line
    plan = json.loads(run_cli("install", "srconly", "--dry-run", "--json", "-b", s3_repo.url, python=venv.python,
                              env=env).assert_ok().stdout)
    assert [s["file"] for s in plan] == ["srconly-1.0.tar.gz"]


@pytest.mark.parametrize("case", ["tags-lie", "name-lies", "broken-sdist", "url-dependency"])
def test_bad_distributions_are_refused_and_nothing_is_written(repo: RepoUnderTest, tmp_path: Path, case: str) -> None:
    good = make_wheel(tmp_path / "good", "goodpkg", "1.0")
    if case == "tags-lie":
        bad = make_wheel(tmp_path / "bad", "goodpkg", "1.0", tags=[TAGS["mac"]], wheel_tags=["py3-none-any"])
        expected = "its WHEEL file says tags py3-none-any"
    elif case == "name-lies":
        bad = make_wheel(tmp_path / "bad", "other", "1.0")
        bad = bad.rename(bad.with_name("goodpkg-1.0-py3-none-any.whl"))
        expected = "disagrees"
    elif case == "broken-sdist":
        bad = tmp_path / "goodpkg-2.0.tar.gz"
        bad.write_bytes(b"\x1f\x8b not really")
        expected = "goodpkg-2.0.tar.gz"
    else:
        bad = make_wheel(tmp_path / "bad", "goodpkg", "3.0", requires=["evil @ https://example.invalid/evil.tar.gz"])
        expected = "direct URL reference"
    dist = tmp_path / "mixed"
    dist.mkdir()
    for path in (good, bad):
        (dist / path.name).write_bytes(path.read_bytes())
    line = repo.cli("publish", str(dist), "-b", repo.url).assert_one_line_error()
    assert expected in line, line
    assert list(repo.open().storage.list("")) == []  # checked first: nothing written, not even the good one


def test_request_counts_of_adding_a_file(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    """Adding a file to a published version costs what publishing a new version costs."""
    files = platform_files(tmp_path, "counted2", "1.0.0")
    s3_repo.cli("publish", str(files["linux"]), "-b", s3_repo.url).assert_ok()
    s3_repo.mark()
    s3_repo.cli("publish", str(files["mac"]), "-b", s3_repo.url).assert_ok()
    added = Counter(r.method for r in s3_repo.requests())
    print("adding a file:", dict(added))
    # The same as a new version (tests/test_repository.py): 6 PUTs, of which 2 are the pages
    # (HTML simple/<name>/index.html and PEP 691 JSON simple/<name>/).
    assert added == {"GET": 6, "PUT": 6}


def test_yank_and_delete_per_version_and_per_file(repo: RepoUnderTest, tmp_path: Path) -> None:
    files = platform_files(tmp_path, "lifepkg", "1.0")
    for path in files.values():
        repo.cli("publish", str(path), "-b", repo.url).assert_ok()
    assert "5 files" in repo.cli("yank", "lifepkg:1.0", "--reason", "bad build", "-b", repo.url).assert_ok().stdout
    release = index_of(repo, "lifepkg").releases["1.0"]
    assert release.yanked and all(f.yanked and f.yanked_reason == "bad build" for f in release.files.values())
    page = repo.open().storage.get("simple/lifepkg/index.html")
    assert page is not None and page.data.count(b'data-yanked="bad build"') == 5
    repo.cli("unyank", "lifepkg:1.0", "-b", repo.url).assert_ok()
    out = repo.cli("delete", "lifepkg:1.0", "--file", files["windows"].name, "--yes", "-b", repo.url).assert_ok()
    assert files["windows"].name in out.stdout
    release = index_of(repo, "lifepkg").releases["1.0"]
    assert files["windows"].name not in release.files and len(release.files) == 4
    line = repo.cli("delete", "lifepkg:1.0", "--file", "nope-1.0.tar.gz", "--yes", "-b", repo.url).assert_one_line_error()
    assert "is not published" in line
    assert "no drift" in repo.cli("verify", "-b", repo.url).assert_ok().stdout
    repo.cli("delete", "lifepkg:1.0", "--yes", "-b", repo.url).assert_ok()
    assert list(repo.open().storage.list("packages/lifepkg/files/")) == []


def _v1_repository(repo: RepoUnderTest, tmp_path: Path) -> DistFile:
    """A repository as pipper 0.1 wrote it (format 1): one wheel per version, ``releases/<version>.json``.

    The wheel and its sidecar are published normally; the record and the index are then replaced
    by their format 1 documents (docs/FORMAT.md, "Format 1").
    """
    from poetry_pipper.index import dumps
    from poetry_pipper.publish import publish_file

    core = repo.open()
    dist = publish_file(core, make_wheel(tmp_path / "v1", "Old_Lib", "1.0.0", requires=["tinypublic"])).dist
    for key in [*core.storage.list("packages/old-lib/releases/"), "packages/old-lib/index.json"]:
        core.storage.delete(key)
    v1 = {"name": dist.name, "version": dist.version, "wheel_name": dist.filename, "file": dist.key,
          "sha256": dist.sha256, "size": dist.size, "metadata_sha256": dist.metadata_sha256,
          "requires_dist": list(dist.requires_dist), "requires_python": None, "summary": dist.summary,
          "dependencies": [], "timestamp": "", "published": dist.upload_time, "yanked": False,
          "yanked_reason": "", "private_requires": []}
    core.storage.put("packages/old-lib/releases/1.0.0.json", dumps({"format": 1, "release": v1}))
    core.storage.put("packages/old-lib/index.json",
                     dumps({"format": 1, "name": "old-lib", "display_name": "Old_Lib", "releases": {"1.0.0": v1}}))
    return dist


def test_a_format_1_repository_keeps_working_and_is_upgraded(repo: RepoUnderTest, tmp_path: Path) -> None:
    dist = _v1_repository(repo, tmp_path)
    storage = repo.open().storage
    out = tmp_path / "dl"
    repo.cli("download", "old-lib", "-e", "-b", repo.url, "-d", str(out)).assert_ok()
    assert (out / dist.filename).exists()
    assert "no drift" in repo.cli("verify", "-b", repo.url).assert_ok().stdout
    # Publishing a new version upgrades the package's index to format 2; the format 1 record stays valid.
    repo.cli("publish", str(make_wheel(tmp_path / "new", "Old_Lib", "1.1.0")), "-b", repo.url).assert_ok()
    blob = storage.get("packages/old-lib/index.json")
    assert blob is not None and json.loads(blob.data)["format"] == 2
    assert sorted(index_of(repo, "old-lib").releases) == ["1.0.0", "1.1.0"]
    # Yanking a format 1 file writes its file record, which wins from then on.
    repo.cli("yank", "old-lib:1.0.0", "-b", repo.url).assert_ok()
    assert storage.exists(f"packages/old-lib/releases/1.0.0/{dist.filename}.json")
    assert index_of(repo, "old-lib").releases["1.0.0"].yanked
    assert "no drift" in repo.cli("verify", "-b", repo.url).assert_ok().stdout


def test_reindex_upgrades_a_format_1_index(repo: RepoUnderTest, tmp_path: Path) -> None:
    _v1_repository(repo, tmp_path)
    result = json.loads(repo.cli("reindex", "-b", repo.url, "--json").assert_ok().stdout)
    assert "packages/old-lib/index.json" in result["written"]
    blob = repo.open().storage.get("packages/old-lib/index.json")
    assert blob is not None and json.loads(blob.data)["format"] == 2
    again = repo.cli("reindex", "-b", repo.url).assert_ok().stdout
    assert "everything was already up to date" in again


def test_authorize_honours_requires_python_and_the_target(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    """The find-links page lists the release this interpreter (or --python-version) can install."""
    s3_repo.cli("publish", str(make_wheel(tmp_path / "a", "authz", "1.0")), "-b", s3_repo.url).assert_ok()
    s3_repo.cli("publish", str(make_wheel(tmp_path / "b", "authz", "2.0", requires_python=">=3.99")),
                "-b", s3_repo.url).assert_ok()
    page = tmp_path / "links.html"
    s3_repo.cli("authorize", "authz", "--format", "find-links", "-o", str(page), "-b", s3_repo.url).assert_ok()
    assert "authz-1.0-py3-none-any.whl" in page.read_text() and "authz-2.0" not in page.read_text()
    s3_repo.cli("authorize", "authz", "--python-version", "3.99", "--format", "find-links", "-o", str(page),
                "-b", s3_repo.url).assert_ok()
    assert "authz-2.0-py3-none-any.whl" in page.read_text()
