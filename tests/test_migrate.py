"""Buckets written by the original pipper 0.11.1 (from PyPI): read them, migrate them, lock against them.

The 0.x bundles are made by ``pipper bundle`` 0.11.1 and published by ``pipper publish`` 0.11.1
against the session's moto server (tests/pipper0x.py). Names carry capitals and a dot, and the
versions include pre-releases and a build tag.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from poetry_pipper.bundle import read_bundle

from . import pipper0x
from .helpers import Result, run_cli
from .poetry_helpers import Project, poetry_env, pyproject
from .servers import PublicIndex, RepoUnderTest, S3Server, Venv, pip_env

# One worker makes the side venv and the golden bucket (under --dist loadgroup).
pytestmark = pytest.mark.xdist_group("pipper011")

REPORT, REPORT_PRE = pipper0x.PROJECTS[3], pipper0x.PROJECTS[4]


@pytest.fixture(scope="session")
def pipper011() -> Path:
    return pipper0x.side_venv()


@pytest.fixture(scope="session")
def made(pipper011: Path) -> dict[pipper0x.Project, Path]:
    return pipper0x.bundles(pipper011)


@pytest.fixture(scope="session")
def golden(pipper011: Path, made: dict[pipper0x.Project, Path], s3_server: S3Server) -> str:
    """A bucket as pipper 0.11.1 leaves it; each test gets a copy."""
    bucket = s3_server.new_bucket()
    pipper0x.publish(pipper011, made, bucket, s3_server.endpoint)
    return bucket


@pytest.fixture
def legacy(golden: str, s3_server: S3Server) -> RepoUnderTest:
    bucket = s3_server.new_bucket()
    client = s3_server.client()
    for item in client.list_objects_v2(Bucket=golden)["Contents"]:
        client.copy_object(Bucket=bucket, Key=item["Key"], CopySource={"Bucket": golden, "Key": item["Key"]})
    return RepoUnderTest(f"s3://{bucket}/pipper", {"AWS_ENDPOINT_URL": s3_server.endpoint}, s3_server, bucket)


def keys(repo: RepoUnderTest) -> set[str]:
    assert repo.server is not None
    pages = repo.server.client().get_paginator("list_objects_v2").paginate(Bucket=repo.bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def wheel_sha(bundle: Path) -> str:
    """The sha256 of the wheel inside a 0.x bundle, computed here independently."""
    with zipfile.ZipFile(bundle) as archive:
        return hashlib.sha256(archive.read("package.whl")).hexdigest()


def kinds(repo: RepoUnderTest) -> Counter[str]:
    """The S3 requests since the mark, by kind."""
    found: Counter[str] = Counter()
    for request in repo.requests():
        path, _, query = request.path.partition("?")
        if "list-type=2" in query:
            found["LIST"] += 1
        elif path.endswith(".pipper"):
            found[f"bundle {request.method}"] += 1
        elif path.endswith("index.json"):
            found[f"index {request.status}"] += 1
        elif path.endswith(".whl"):
            found[f"wheel {request.method}"] += 1
        else:
            found[f"{request.method} {path}"] += 1
    return found


def install(venv: Venv, repo: RepoUnderTest, public: PublicIndex, *args: str) -> Result:
    assert repo.bucket is not None
    # A bare bucket name means the prefix `pipper`: the 0.x default root.
    return run_cli("install", *args, "-b", repo.bucket, python=venv.python, env={**repo.env, **pip_env(public)})


def installed(venv: Venv) -> dict[str, str]:
    code = ("import importlib.metadata as m, json;"
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
    proc = venv.run(code)
    assert proc.returncode == 0, proc.stderr
    return {k: v for k, v in json.loads(proc.stdout).items() if k.lower().startswith(("acme", "tinypublic"))}


def test_install_download_and_info_read_a_0x_bucket(legacy: RepoUnderTest, venv: Venv, public_index: PublicIndex,
                                                     made: dict[pipper0x.Project, Path], tmp_path: Path) -> None:
    info = json.loads(legacy.cli("info", "ACME_REPORT", "-b", legacy.url, "--json").assert_ok().stdout)
    assert info["name"] == "Acme_Report" and info["layout"] == "pipper 0.x"
    assert [(v["version"], v["sha256"]) for v in info["versions"]] == [("1.0.0", None), ("1.2.3a1+2.tests", None)]
    assert info["latest"] == "1.0.0"  # the pre-release only with --pre

    legacy.mark()
    install(venv, legacy, public_index, "Acme_Report").assert_ok()
    assert installed(venv) == {"Acme_Report": "1.0.0", "Acme.Math": "1.1.0", "tinypublic": "1.0.0"}
    assert venv.run("import acme_report, acme_math").returncode == 0
    # Three index misses (acme-report, acme-math, the public tinypublic), one LIST of the root for
    # all of them, one LIST per 0.x package and one GET per bundle, which also gives the wheel.
    assert kinds(legacy) == {"index 404": 3, "LIST": 3, "bundle GET": 2}

    # Pre-releases and a build tag: --pre picks 1.2.3-alpha.1+2-tests, which needs Acme.Math 2.0.0-rc.1.
    install(venv, legacy, public_index, "acme-report", "--pre", "-u").assert_ok()
    assert installed(venv) == {"Acme_Report": "1.2.3a1+2.tests", "Acme.Math": "2.0.0rc1", "tinypublic": "1.0.0"}
    assert venv.run("import acme_report; assert acme_report.VERSION == '1.2.3-alpha.1+2-tests'").returncode == 0

    # download writes a current bundle, whose sha256 is the 0.x wheel's (computed on download).
    out = tmp_path / "out"
    legacy.cli("download", "acme_report:1.0.0", "--no-deps", "-b", legacy.url, "-d", str(out)).assert_ok()
    (saved,) = out.glob("*.pipper")
    meta, _wheel = read_bundle(saved, tmp_path)
    assert meta.sha256 == wheel_sha(made[REPORT]) and meta.dependencies == ["Acme.Math:1.*"]


def test_migrate_converts_resumes_and_keeps_the_0x_objects(
    legacy: RepoUnderTest, pipper011: Path, venv: Venv, public_index: PublicIndex, made: dict[pipper0x.Project, Path]
) -> None:
    assert legacy.bucket is not None and legacy.server is not None
    before = keys(legacy)
    assert len(before) == 5 and all(k.startswith(("pipper/Acme_Report/", "pipper/Acme.Math/")) for k in before)

    dry = json.loads(legacy.cli("migrate", "-b", legacy.bucket, "--dry-run", "--json").assert_ok().stdout)
    assert (dry["found"], dry["would_migrate"], dry["failed"]) == (5, 5, 0)
    assert keys(legacy) == before  # a dry run writes nothing

    first = json.loads(legacy.cli("migrate", "-b", legacy.url, "--json").assert_ok().stdout)
    assert (first["found"], first["migrated"], first["already_present"], first["failed"]) == (5, 5, 0, 0)
    by_key = {b["key"]: b for b in first["bundles"]}
    for project, bundle in made.items():
        entry = by_key[f"{project.name}/{bundle.name.removeprefix(project.name + '-')}"]
        assert entry["sha256"] == wheel_sha(bundle), entry
    assert before < keys(legacy)  # the 0.x objects are still there

    # Idempotent, and resumable: an index lost to an interrupted run is rebuilt by the next run.
    legacy.server.client().delete_object(Bucket=legacy.bucket, Key="pipper/packages/acme-math/index.json")
    again = legacy.cli("migrate", "-b", legacy.url).assert_ok().stdout
    assert "5 pipper 0.x bundles found" in again and "0 migrated, 5 already present, 0 failed" in again

    info = json.loads(legacy.cli("info", "acme.math", "-b", legacy.url, "--json").assert_ok().stdout)
    assert "layout" not in info
    assert {v["version"]: v["sha256"] for v in info["versions"]} == {
        "1.0.0": wheel_sha(made[pipper0x.PROJECTS[0]]), "1.1.0": wheel_sha(made[pipper0x.PROJECTS[1]]),
        "2.0.0rc1": wheel_sha(made[pipper0x.PROJECTS[2]]),
    }

    # Installing from the new layout: one index GET per package, the wheels verified by sha256.
    legacy.mark()
    install(venv, legacy, public_index, "Acme_Report").assert_ok()
    assert installed(venv) == {"Acme_Report": "1.0.0", "Acme.Math": "1.1.0", "tinypublic": "1.0.0"}
    assert kinds(legacy) == {"index 200": 2, "index 404": 1, "LIST": 1, "wheel GET": 2}

    # pipper 0.11.1 still reads its own objects.
    out = pipper0x.run(pipper011, "info", "Acme.Math", "-b", legacy.bucket, env=legacy.env)
    assert re.search(r"Latest version: 1\.1\.0", out), out


def test_migrate_reports_a_bad_bundle_and_migrates_the_rest(legacy: RepoUnderTest, tmp_path: Path) -> None:
    assert legacy.bucket is not None and legacy.server is not None
    client = legacy.server.client()
    client.put_object(Bucket=legacy.bucket, Key="pipper/Broken_Pkg/v1-0-0.pipper", Body=b"not a zip")
    result = legacy.cli("migrate", "-b", legacy.url)
    line = result.assert_one_line_error()
    assert "1 of 6 pipper 0.x bundles could not be migrated" in line
    assert re.search(r"failed +Broken_Pkg 1\.0\.0: s3://.*/pipper/Broken_Pkg/v1-0-0\.pipper \(pipper 0\.x bundle\):"
                     r" not a \.pipper bundle", result.stdout), result.stdout
    assert "5 migrated, 0 already present, 1 failed" in result.stdout
    client.delete_object(Bucket=legacy.bucket, Key="pipper/Broken_Pkg/v1-0-0.pipper")
    assert "5 already present, 0 failed" in legacy.cli("migrate", "-b", legacy.url).assert_ok().stdout


@pytest.mark.poetry
def test_poetry_locks_a_0x_bucket_and_the_lock_survives_migration(
    legacy: RepoUnderTest, public_index: PublicIndex, made: dict[pipper0x.Project, Path], tmp_path: Path
) -> None:
    path = tmp_path / "app"
    path.mkdir()
    (path / "pyproject.toml").write_text(
        pyproject([("public", public_index.url + "/", "primary"), ("private", legacy.url, "explicit")],
                  dependencies=["acme-report"], poetry_deps={"acme-report": '{ source = "private" }'})
    )
    app = Project(path, {**poetry_env(tmp_path), **legacy.env})
    app.poetry("lock").assert_ok()
    lock = app.lock
    assert f"sha256:{wheel_sha(made[REPORT])}" in lock and f"sha256:{wheel_sha(made[pipper0x.PROJECTS[1]])}" in lock
    assert lock.count('reference = "private"') == 2  # Acme.Math is pinned to the private source too

    # Installing from that lock before migrating: each wheel comes out of its 0.x bundle.
    legacy.mark()
    app.poetry("install").assert_ok()
    assert app.has("acme_report") and app.has("acme_math") and app.has("tinypublic")
    assert kinds(legacy)["bundle GET"] == 2

    legacy.cli("migrate", "-b", legacy.url).assert_ok()
    # The same lock now installs from the migrated files (same sha256, same URLs): no bundle is read.
    shutil.rmtree(app.path / ".venv")
    shutil.rmtree(tmp_path / "poetry-cache")
    legacy.mark()
    app.poetry("install").assert_ok()
    assert app.has("acme_report")
    assert kinds(legacy) == {"wheel GET": 2}
    app.poetry("lock", "--regenerate").assert_ok()
    assert app.lock == lock


def test_repository_import_copies_the_0x_config_and_makes_it_private(pipper011: Path, tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])
    key, secret, token = "AKIAOLDPIPPERKEY0001", "oldSecret/abcdefghijklmnopqrstuvwxyz012", "oldSessionToken0001"
    run_cli("repository", "add", "other", "-b", "s3://somewhere-else/pypi").assert_ok()  # before the 0.x file
    pipper0x.run(pipper011, "repository", "add", "team", "-b", "team-bucket", "--root-prefix", "custom", "-d",
                 env={"HOME": str(home)})
    # (0.11.1's `repository add -c` crashes with a KeyError; its `modify -c` stores the keys.)
    pipper0x.run(pipper011, "repository", "modify", "team", "-c", key, secret, token, env={"HOME": str(home)})
    aws_config = tmp_path / "aws-config"
    aws_config.write_text("[profile ci]\nregion = us-east-1\n")
    pipper0x.run(pipper011, "repository", "add", "other", "-b", "other-bucket", "-p", "ci",
                 env={"HOME": str(home), "AWS_CONFIG_FILE": str(aws_config)})
    old = home / ".pipper" / "repositories.json"
    assert stat.S_IMODE(old.stat().st_mode) & 0o044  # 0.x leaves its secrets readable by others

    result = run_cli("repository", "import").assert_ok()
    assert secret not in result.output and token not in result.output
    assert "Imported repository 'team' (default): s3://team-bucket/custom, keys AKIA****" in result.stdout
    assert "Kept repository 'other' as configured here (s3://somewhere-else/pypi)" in result.stdout
    new = Path(os.environ["XDG_CONFIG_HOME"]) / "poetry-pipper" / "config.json"
    assert stat.S_IMODE(new.stat().st_mode) == 0o600 and stat.S_IMODE(old.stat().st_mode) == 0o600
    data = json.loads(new.read_text())
    assert data["default"] == "team"
    assert data["repositories"]["team"] == {"bucket": "s3://team-bucket/custom", "access_key_id": key,
                                           "secret_access_key": secret, "session_token": token}
    assert data["repositories"]["other"] == {"bucket": "s3://somewhere-else/pypi"}
    # A name not configured here yet is taken with its profile: `import other` after removing ours.
    run_cli("repository", "remove", "other").assert_ok()
    assert "Imported repository 'other': s3://other-bucket/pipper, profile 'ci'" in \
        run_cli("repository", "import", "other").assert_ok().stdout

    again = json.loads(run_cli("repository", "import", "--json").assert_ok().stdout)
    assert (again["imported"], again["unchanged"], again["kept"]) == ([], ["other", "team"], [])
    assert again["source_permissions_fixed"] is None
    # pipper 0.11.1 still reads its (now private) file.
    assert "team" in pipper0x.run(pipper011, "repository", "list", env={"HOME": str(home)})
