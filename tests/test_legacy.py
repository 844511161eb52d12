"""The pipper 0.x fallback and `pipper migrate` on 0.x objects written here from the documented format.

tests/test_migrate.py does the same with bundles and buckets made by the real pipper 0.11.1;
these cover the version encoding, the request costs, and the cases 0.11.1 cannot produce.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from packaging.version import Version

from poetry_pipper.bundle import make_bundle, safe_version
from poetry_pipper.download import sha256_file
from poetry_pipper.index import LEGACY_LAYOUT
from poetry_pipper.legacy import decode_safe_version

from .helpers import make_wheel, only_file
from .servers import RepoUnderTest


def semver_key(semver: str) -> str:
    """pipper 0.x's object name for a SemVer (versioning.serialize in 0.11.1)."""
    core, _, build = semver.partition("+")
    release, _, pre = core.partition("-")
    text = "v" + release.replace(".", "-")
    if pre:
        text += "__pre_" + pre.replace(".", "_")
    if build:
        text += "__build_" + build.replace(".", "_")
    return text


def put_0x(repo: RepoUnderTest, tmp_path: Path, name: str, semver: str, *, stored_as: str | None = None,
           dependencies: tuple[str, ...] = (), **kwargs) -> Path:  # type: ignore[no-untyped-def]
    """Store a 0.x bundle at <root>/<name>/<safe_version>.pipper: package.whl + package.meta, no hash."""
    version = str(Version(semver))
    wheel = make_wheel(tmp_path / "w0x" / f"{name}-{semver}-{version}", name, version, **kwargs)
    bundle = tmp_path / "b0x" / f"{name}-{semver_key(semver)}.pipper"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    meta = {"dependencies": list(dependencies), "name": name, "wheel_name": wheel.name, "version": semver,
            "safe_version": semver_key(semver), "timestamp": "2024-01-01T00:00:00+00:00"}
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.write(wheel, "package.whl")
        archive.writestr("package.meta", json.dumps(meta))
    repo.open().storage.put(f"{name}/{semver_key(stored_as or semver)}.pipper", bundle.read_bytes())
    return wheel


def publish(repo: RepoUnderTest, tmp_path: Path, name: str, version: str, **kwargs) -> Path:  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path / "w" / f"{name}-{version}", name, version, **kwargs)
    bundle, _ = make_bundle(wheel, tmp_path / "b" / f"{name}-{version}")
    repo.cli("publish", str(bundle), "-b", repo.url).assert_ok()
    return wheel


@pytest.mark.parametrize(("safe", "expected"), [
    ("v1-0-0", "1.0.0"),
    ("v1-2-3__pre_alpha_1__build_2-tests", "1.2.3a1+2.tests"),
    ("v2-0-0__pre_rc_1", "2.0.0rc1"),
    ("v1-0-0__pre_beta", "1.0.0b0"),
    ("v1-0-0__pre_dev_3", "1.0.0.dev3"),
    ("v1-0-0__build_7_b", "1.0.0+7.b"),
    ("v10-20-30", "10.20.30"),
    ("v1-0-0__pre_foo_1", None),  # SemVer 1.0.0-foo.1: no PEP 440 spelling, so no wheel has it
    ("v1-0", None),
    ("1-0-0", None),
    ("latest", None),
])
def test_decode_safe_version(safe: str, expected: str | None) -> None:
    decoded = decode_safe_version(safe)
    assert (str(decoded) if decoded else None) == expected


@pytest.mark.parametrize("version", ["1.0.0", "1.0.0rc1", "2.1.3a4+build.7"])
def test_safe_version_written_here_reads_back(version: str) -> None:
    assert decode_safe_version(safe_version(version)) == Version(version)


def test_fallback_costs_nothing_for_new_packages_and_one_get_per_0x_bundle(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    wheel = put_0x(s3_repo, tmp_path, "Acme_Report", "1.0.0")
    put_0x(s3_repo, tmp_path, "Acme_Report", "1.1.0-rc.1")
    publish(s3_repo, tmp_path, "fresh", "1.0.0")
    repo = s3_repo.open()

    def requests() -> Counter[str]:
        found = Counter("LIST" if "list-type=2" in r.path else f"{r.method} {r.status}" for r in s3_repo.requests())
        s3_repo.mark()
        return found

    s3_repo.mark()
    assert repo.package_index("fresh") is not None
    assert requests() == {"GET 200": 1}  # a new-format package: one GET, never a 0.x lookup
    assert repo.package_index("not-there") is None and repo.package_index("also-not-there") is None
    assert requests() == {"GET 404": 2, "LIST": 1}  # the root is listed once per process
    index = repo.package_index("ACME-report")  # 0.x names are not normalized: found by any spelling
    assert index is not None and index.layout == LEGACY_LAYOUT and index.display_name == "Acme_Report"
    assert [str(v) for v in index.versions()] == ["1.0.0", "1.1.0rc1"]
    assert requests() == {"GET 404": 1, "LIST": 1}  # plus its folder
    assert not index.releases["1.0.0"].files  # listing reads no bundle: a stub
    release = repo.release(index, "1.0.0")
    assert release is not None and release.bundle_key and only_file(release).sha256
    assert only_file(release).sha256 == sha256_file(wheel) and only_file(release).filename == wheel.name
    assert repo.release(index, "1.0.0") is release
    assert requests() == {"GET 200": 1}  # the bundle, once
    fetched = repo.fetch(only_file(release), tmp_path / "dest")
    assert sha256_file(fetched) == sha256_file(wheel) and fetched.name == wheel.name
    assert requests() == {}  # the wheel came with the bundle


def test_a_new_index_takes_over_until_migrate_adds_the_0x_versions(repo: RepoUnderTest, tmp_path: Path) -> None:
    put_0x(repo, tmp_path, "Foo", "1.0.0", dependencies=("bar:1.*",))
    info = json.loads(repo.cli("info", "foo", "-b", repo.url, "--json").assert_ok().stdout)
    assert [v["version"] for v in info["versions"]] == ["1.0.0"] and info["layout"] == "pipper 0.x"
    publish(repo, tmp_path, "foo", "2.0.0")
    info = json.loads(repo.cli("info", "foo", "-b", repo.url, "--json").assert_ok().stdout)
    assert [v["version"] for v in info["versions"]] == ["2.0.0"]  # one GET: the 0.x folder is not read
    result = repo.cli("migrate", "-b", repo.url).assert_ok()
    assert "1 migrated, 0 already present, 0 failed" in result.stdout
    info = json.loads(repo.cli("info", "foo", "-b", repo.url, "--json").assert_ok().stdout)
    assert [v["version"] for v in info["versions"]] == ["1.0.0", "2.0.0"]
    release = repo.open().require_index("foo").get("1.0.0")
    assert release is not None and only_file(release).dependencies == ("bar:1.*",)  # pipper.json's list is kept
    repo.cli("verify", "-b", repo.url).assert_ok()  # the 0.x objects left beside the layout are no problem


def test_a_bundle_that_is_not_what_its_name_says(repo: RepoUnderTest, tmp_path: Path) -> None:
    put_0x(repo, tmp_path, "liar", "1.0.0", stored_as="2.0.0")
    line = repo.cli("download", "liar", "-b", repo.url, "-d", str(tmp_path / "out")).assert_one_line_error()
    assert "liar/v2-0-0.pipper holds liar-1.0.0-py3-none-any.whl, not liar 2.0.0 as its name says" in line
    result = repo.cli("migrate", "-b", repo.url, "--json")
    assert "1 of 1 pipper 0.x bundles could not be migrated" in result.assert_one_line_error()
    assert json.loads(result.stdout)["bundles"][0]["status"] == "failed"


def test_migrate_never_replaces_a_different_wheel(repo: RepoUnderTest, tmp_path: Path) -> None:
    put_0x(repo, tmp_path, "twice", "1.0.0", body="OLD = 1\n")
    publish(repo, tmp_path, "twice", "1.0.0", body="NEW = 1\n")
    published = repo.open().require_index("twice").get("1.0.0")
    result = repo.cli("migrate", "-b", repo.url)
    result.assert_one_line_error()
    assert "twice 1.0.0 is already published in the new layout with a different wheel" in result.stdout
    assert repo.open().require_index("twice").get("1.0.0") == published


def test_migrate_with_nothing_to_migrate(repo: RepoUnderTest) -> None:
    result = repo.cli("migrate", "-b", repo.url).assert_ok()
    assert "no pipper 0.x bundles under" in result.stdout


def test_repository_import_without_a_0x_config() -> None:
    from .helpers import run_cli

    line = run_cli("repository", "import").assert_one_line_error()
    assert "no pipper 0.x configuration at" in line and ".pipper/repositories.json: nothing to import" in line


def test_repository_import_of_one_name_before_any_new_config(tmp_path: Path) -> None:
    from .helpers import run_cli

    old = tmp_path / "home" / ".pipper" / "repositories.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"repositories": {
        "one": {"bucket": "one-bucket", "profile": None, "root_prefix": "pipper", "access_key_id": None,
                "secret_access_key": None, "session_token": None},
        "two": {"bucket": "two-bucket", "profile": None, "root_prefix": "", "access_key_id": None,
                "secret_access_key": None, "session_token": None},
    }, "default": "two"}))
    old.chmod(0o644)
    result = run_cli("repository", "import", "one").assert_ok()
    assert "Imported repository 'one': s3://one-bucket/pipper, no stored credentials" in result.stdout
    assert "Not imported from" in result.stdout and ": two (" in result.stdout
    assert "(0644 -> 0600)" in result.stdout and oct(old.stat().st_mode)[-3:] == "600"
    listing = json.loads(run_cli("repository", "list", "--json").assert_ok().stdout)
    assert [r["name"] for r in listing["repositories"]] == ["one"] and listing["default"] is None
    assert "no repository 'three' in" in run_cli("repository", "import", "three").assert_one_line_error()
    assert "takes only an optional NAME" in run_cli("repository", "import", "-d").assert_one_line_error()


def test_authorize_asks_for_migrate_first(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    put_0x(s3_repo, tmp_path, "oldie", "1.0.0")
    line = s3_repo.cli("authorize", "oldie", "-b", s3_repo.url).assert_one_line_error()
    assert "oldie 1.0.0 is stored in the pipper 0.x layout" in line and "run `pipper migrate -b s3://" in line


@pytest.mark.poetry
def test_poetry_names_the_source_when_a_0x_bundle_is_unreadable(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    from .poetry_helpers import Project, poetry_env, pyproject

    local_repo.open().storage.put("Broken/v1-0-0.pipper", b"not a zip")
    path = tmp_path / "app"
    path.mkdir()
    (path / "pyproject.toml").write_text(pyproject([("private", Path(local_repo.url).as_uri(), "primary")],
                                                   dependencies=["broken"]))
    result = Project(path, poetry_env(tmp_path)).poetry("lock")
    assert result.code == 1 and "Traceback" not in result.output
    assert "source 'private'" in result.output and "Broken/v1-0-0.pipper (pipper 0.x bundle): not a .pipper bundle" \
        in " ".join(result.output.split()), result.output
