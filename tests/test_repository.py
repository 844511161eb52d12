"""publish, download and info on both backends (a directory, and a moto S3 server over HTTP)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from poetry_pipper.bundle import make_bundle, read_bundle

from .helpers import make_wheel, only_file
from .servers import RepoUnderTest


def bundle(tmp_path: Path, name: str, version: str, **kwargs) -> Path:  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path / "w" / f"{name}-{version}-{len(kwargs)}", name, version, **kwargs)
    path, _ = make_bundle(wheel, tmp_path / "bundles" / f"{name}-{version}-{hash(str(kwargs))}")
    return path


def test_publish_then_info_and_download(repo: RepoUnderTest, tmp_path: Path) -> None:
    for version in ["1.0.0", "1.1.0", "2.0.0rc1", "1.1.1.post1", "1.0.0+local"]:
        repo.cli("publish", str(bundle(tmp_path, "Demo_Pkg", version)), "-b", repo.url).assert_ok()
    info = json.loads(repo.cli("info", "demo-pkg", "-b", repo.url, "--json").assert_ok().stdout)
    assert [v["version"] for v in info["versions"]] == ["1.0.0", "1.0.0+local", "1.1.0", "1.1.1.post1", "2.0.0rc1"]
    assert info["latest"] == "1.1.1.post1" and info["name"] == "Demo_Pkg" and info["installed"] is None
    text = repo.cli("info", "Demo.Pkg", "-b", repo.url).assert_ok().stdout
    assert "1.1.1.post1  (latest)" in text

    out = tmp_path / "dl"
    repo.cli("download", "demo-pkg:1.*", "-b", repo.url, "-d", str(out)).assert_ok()
    assert sorted(p.name for p in out.iterdir()) == ["demo-pkg-1.1.1.post1.pipper"]
    repo.cli("download", "demo-pkg:1.1.0", "-b", repo.url, "-d", str(out), "-e").assert_ok()
    assert (out / "demo_pkg-1.1.0-py3-none-any.whl").exists()
    assert json.loads((out / "demo-pkg-1.1.0.json").read_text())["version"] == "1.1.0"
    repo.cli("download", "demo-pkg", "--pre", "-b", repo.url, "-d", str(out)).assert_ok()
    assert (out / "demo-pkg-2.0.0rc1.pipper").exists()


def test_download_gives_back_the_published_bundle_byte_for_byte(repo: RepoUnderTest, tmp_path: Path) -> None:
    original = bundle(tmp_path, "same", "1.0.0", requires=["x>=1"])
    repo.cli("publish", str(original), "-b", repo.url).assert_ok()
    spec_file = tmp_path / "pipper.json"
    spec_file.write_text(json.dumps({"dependencies": ["same:1.0.*"]}))
    repo.cli("download", "-i", str(spec_file), "-b", repo.url, "-d", str(tmp_path / "dl")).assert_ok()
    assert (tmp_path / "dl" / "same-1.0.0.pipper").read_bytes() == original.read_bytes()


def test_download_follows_private_dependencies(repo: RepoUnderTest, tmp_path: Path) -> None:
    repo.cli("publish", str(bundle(tmp_path, "leaf", "1.0.0")), "-b", repo.url).assert_ok()
    repo.cli("publish", str(bundle(tmp_path, "top", "1.0.0", requires=["leaf", "tinypublic"])), "-b", repo.url).assert_ok()
    out = tmp_path / "dl"
    repo.cli("download", "top", "-b", repo.url, "-d", str(out)).assert_ok()
    assert sorted(p.name for p in out.iterdir()) == ["leaf-1.0.0.pipper", "top-1.0.0.pipper"]
    repo.cli("download", "top", "--no-deps", "-b", repo.url, "-d", str(tmp_path / "nodeps")).assert_ok()
    assert [p.name for p in (tmp_path / "nodeps").iterdir()] == ["top-1.0.0.pipper"]


def test_republish_same_is_skipped_different_is_refused_force_replaces(repo: RepoUnderTest, tmp_path: Path) -> None:
    first = bundle(tmp_path, "pkg", "1.0.0")
    other = bundle(tmp_path, "pkg", "1.0.0", body="X = 2\n")
    assert "Published pkg 1.0.0" in repo.cli("publish", str(first), "-b", repo.url).assert_ok().stdout
    again = repo.cli("publish", str(first), "-b", repo.url).assert_ok()
    assert "already published" in again.stdout
    line = repo.cli("publish", str(other), "-b", repo.url).assert_one_line_error()
    assert "already published with different content" in line and "--force" in line
    core = repo.open()
    assert only_file(core.require_index("pkg").get("1.0.0")).sha256 == read_bundle(first, _fresh(tmp_path))[0].sha256
    replaced = repo.cli("publish", str(other), "-b", repo.url, "--force", "--json").assert_ok()
    assert json.loads(replaced.stdout)["status"] == "replaced"
    new_sha = read_bundle(other, _fresh(tmp_path))[0].sha256
    assert only_file(core.require_index("pkg").get("1.0.0")).sha256 == new_sha
    # The replaced content's files are gone; only the new content is stored.
    files = [k for k in core.storage.list("packages/pkg/files/")]
    assert all(new_sha in k for k in files) and len(files) == 2


def _fresh(tmp_path: Path) -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(dir=tmp_path))


def test_publish_directory_publishes_every_distribution_and_skips_what_is_there(repo: RepoUnderTest, tmp_path: Path) -> None:
    """`pipper publish dist/` is `twine upload dist/*`: every .pipper, .whl and sdist in it."""
    older = bundle(tmp_path, "pick", "1.0.0")
    newer = bundle(tmp_path, "pick", "0.9.0")
    d = tmp_path / "dist"
    d.mkdir()
    (d / older.name).write_bytes(older.read_bytes())
    (d / newer.name).write_bytes(newer.read_bytes())
    make_wheel(d, "other", "2.0")
    (d / "notes.txt").write_text("not a distribution")
    out = repo.cli("publish", str(d), "-b", repo.url, "--json").assert_ok().stdout
    assert sorted((r["name"], r["version"], r["status"]) for r in json.loads(out)) == [
        ("other", "2.0", "published"), ("pick", "0.9.0", "published"), ("pick", "1.0.0", "published")]
    again = repo.cli("publish", str(d), "-b", repo.url).assert_ok().stdout
    assert again.count("already published") == 3
    (tmp_path / "empty").mkdir()
    assert "no distributions in" in repo.cli("publish", str(tmp_path / "empty"), "-b", repo.url).assert_one_line_error()


def test_publish_a_wheel_directly(repo: RepoUnderTest, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "direct", "3.0")
    repo.cli("publish", str(wheel), "-b", repo.url).assert_ok()
    assert repo.open().require_index("direct").get("3.0") is not None


def test_simple_tree_serves_pip(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    """pip download --index-url file:///<dir>/simple works on a local directory repository."""
    local_repo.cli("publish", str(bundle(tmp_path, "Simple_Pkg", "1.0.0", requires_python=">=3.8")), "-b", local_repo.url).assert_ok()
    local_repo.cli("publish", str(bundle(tmp_path, "Simple_Pkg", "1.1.0")), "-b", local_repo.url).assert_ok()
    root = Path(local_repo.url)
    page = (root / "simple" / "simple-pkg" / "index.html").read_text()
    assert "#sha256=" in page and 'data-requires-python="&gt;=3.8"' in page and "data-core-metadata" in page
    assert "simple-pkg/" in (root / "simple" / "index.html").read_text()
    out = tmp_path / "pipdl"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--index-url", (root / "simple").as_uri(),
         "--isolated", "-d", str(out), "simple-pkg"],
        capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "PIP_CONFIG_FILE": "/dev/null"},
    )
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in out.iterdir()] == ["simple_pkg-1.1.0-py3-none-any.whl"]


def test_request_counts(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    """S3 requests of publish, download and info, counted from the server's access log."""
    first = bundle(tmp_path, "counted", "1.0.0")
    s3_repo.mark()
    s3_repo.cli("publish", str(first), "-b", s3_repo.url).assert_ok()
    publish_new_package = Counter(r.method for r in s3_repo.requests())
    s3_repo.mark()
    s3_repo.cli("publish", str(bundle(tmp_path, "counted", "1.1.0")), "-b", s3_repo.url).assert_ok()
    publish_new_version = Counter(r.method for r in s3_repo.requests())
    s3_repo.mark()
    s3_repo.cli("publish", str(first), "-b", s3_repo.url).assert_ok()
    publish_again = Counter(r.method for r in s3_repo.requests())
    s3_repo.mark()
    s3_repo.cli("info", "counted", "-b", s3_repo.url).assert_ok()
    info = Counter(r.method for r in s3_repo.requests())
    s3_repo.mark()
    s3_repo.cli("download", "counted", "-b", s3_repo.url, "-d", str(tmp_path / "dl")).assert_ok()
    download = Counter(r.method for r in s3_repo.requests())
    print("publish (new package):", dict(publish_new_package))
    print("publish (new version):", dict(publish_new_version))
    print("publish (again):", dict(publish_again))
    print("info:", dict(info), "download:", dict(download))
    assert info == {"GET": 1}
    assert download == {"GET": 2}  # the index, then the wheel
    # the file record, the index, then what an earlier publisher may have left undone: the
    # package's two pages, the root list and its two pages (tests/test_healing.py)
    assert publish_again == {"GET": 7}
    # new version: record probe, root list (private-dependency hint), wheel, sidecar, record,
    # record check, index GET + LIST + PUT, the two pages (PEP 503 HTML simple/<name>/index.html and
    # PEP 691 JSON simple/<name>/, which uv and other clients read straight from S3), index re-check.
    # A new package also writes the root list and its two pages (simple/index.html and simple/); the
    # bucket's very first publish also LISTs the root once for pipper 0.x folders (their names join
    # the root list: the guard's).
    assert publish_new_version == {"GET": 6, "PUT": 6}
    assert publish_new_package == {"GET": 9, "PUT": 9}


def test_large_upload_uses_multipart_with_progress(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    big = bundle(tmp_path, "bigpkg", "1.0.0", padding=20 * 1024 * 1024)
    s3_repo.mark()
    result = s3_repo.cli("publish", str(big), "-b", s3_repo.url, env={"COLUMNS": "80"}).assert_ok()
    methods = Counter(r.method for r in s3_repo.requests())
    assert methods["POST"] >= 2  # CreateMultipartUpload + CompleteMultipartUpload
    assert "uploading bigpkg-1.0.0-py3-none-any.whl" in result.stderr and "100%" in result.stderr
    out = tmp_path / "dl"
    s3_repo.cli("download", "bigpkg", "-b", s3_repo.url, "-d", str(out), "-e").assert_ok()
    assert (out / "bigpkg-1.0.0-py3-none-any.whl").stat().st_size > 20 * 1024 * 1024


def test_download_verifies_sha256_before_naming(repo: RepoUnderTest, tmp_path: Path) -> None:
    repo.cli("publish", str(bundle(tmp_path, "tamper", "1.0.0")), "-b", repo.url).assert_ok()
    core = repo.open()
    release = core.require_index("tamper").get("1.0.0")
    core.storage.put(only_file(release).key, b"not the wheel")
    out = tmp_path / "dl"
    line = repo.cli("download", "tamper", "-b", repo.url, "-d", str(out), env={"PIPPER_CACHE_DIR": str(tmp_path / "c")}).assert_one_line_error()
    assert "hash mismatch" in line
    assert not out.exists() or list(out.iterdir()) == []


def test_bundle_zip_members_are_not_trusted_as_paths(repo: RepoUnderTest, tmp_path: Path) -> None:
    good = bundle(tmp_path, "slip", "1.0.0")
    evil = tmp_path / "evil.pipper"
    with zipfile.ZipFile(good) as z, zipfile.ZipFile(evil, "w") as out:
        for name in z.namelist():
            out.writestr(name, z.read(name))
        out.writestr("/etc/evil", b"x")
    assert "not a .pipper bundle" in repo.cli("publish", str(evil), "-b", repo.url).assert_one_line_error()
    assert repo.open().package_index("slip") is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["info", "nope"], "not found"),
        (["download", "nope"], "not found"),
        (["download", "present:>=9"], "no version of present matches"),
        (["download", "present:1.*.x"], "invalid version spec"),
        (["download", "bad name!"], "invalid package spec"),
        (["download", "present:2.0.0a1"], "no version of present matches"),
        (["download", "present", "-i", "/nonexistent/pipper.json"], "no such file"),
    ],
)
def test_read_errors(repo: RepoUnderTest, tmp_path: Path, args: list[str], expected: str) -> None:
    repo.cli("publish", str(bundle(tmp_path, "present", "1.0.0")), "-b", repo.url).assert_ok()
    extra = ["-d", str(tmp_path / "d")] if args[0] == "download" else []
    assert expected in repo.cli(*args, "-b", repo.url, *extra).assert_one_line_error()
    assert not (tmp_path / "d").exists()
