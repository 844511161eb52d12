"""`pipper prune`: rules, guards, locks, --yank, --dry-run, --json, errors, access and request counts.

Safety under concurrent publishers and interruption: tests/test_prune_safety.py.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from collections import Counter
from pathlib import Path

import pytest

from poetry_pipper.keys import JSON_TYPE, index_key, pending_key, record_key
from poetry_pipper.locks import Protection
from poetry_pipper.pending import DELETE, PendingChanges, PendingVersion
from poetry_pipper.prune import prune
from poetry_pipper.retention import Policy

from .helpers import make_wheel
from .prune_helpers import backdate, clean, publish, snapshot, versions
from .servers import AuthS3, RepoUnderTest

DAY = datetime.timedelta(days=1)


def test_keep_n_removes_every_file_of_older_versions(repo: RepoUnderTest, tmp_path: Path) -> None:
    storage = repo.open()
    publish(storage, tmp_path, "acme", ["1.0.0", "1.1.0", "1.2.0", "2.0.0.dev1", "2.0.0.dev2"], sdist=("1.0.0",))
    old = repo.open().require_index("acme")
    gone = [d for v in ("1.0.0", "1.1.0") for d in old.releases[v].files.values()]

    result = repo.cli("prune", "acme", "-b", repo.url, "--keep", "2").assert_ok()
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        "keep acme 2.0.0.dev2 (1 file, 1.0 kB): newest release; among the 2 newest",
        "keep acme 2.0.0.dev1 (1 file, 1.0 kB): among the 2 newest",
        "keep acme 1.2.0 (1 file, 957 B): newest final release (resolvers skip pre-releases unless asked); "
        "not among the 2 newest (number 3)",
        "delete acme 1.1.0 (1 file, 957 B): not among the 2 newest (number 4)",
        f"delete acme 1.0.0 (2 files, {sum(d.size for d in gone[:2]) / 1000:.1f} kB): not among the 2 newest (number 5)",
    ]
    assert lines[-1].startswith(f"Pruned {repo.open().location}: deleted 2 versions (")
    assert "kept 3 versions" in lines[-1]

    after = repo.open()
    assert versions(after, "acme") == ["1.2.0", "2.0.0.dev1", "2.0.0.dev2"]
    keys = set(after.storage.list(""))
    for dist in gone:  # every file, sidecar and record of the removed versions is gone
        assert not {dist.key, dist.metadata_key, record_key("acme", dist.version, dist.filename)} & keys
    page = after.storage.get("simple/acme/index.html")
    assert page is not None and b"1.1.0" not in page.data and b"1.0.0" not in page.data
    assert not [k for k in keys if k.startswith("pending/")]
    assert "no drift" in repo.cli("verify", "-b", repo.url).assert_ok().stdout
    # Run again: nothing more to do, nothing written.
    again = repo.cli("prune", "acme", "-b", repo.url, "--keep", "2", "--json").assert_ok()
    assert json.loads(again.stdout)["summary"]["delete"] == {"versions": 0, "bytes": 0}


def test_dry_run_prints_the_plan_and_changes_nothing(repo: RepoUnderTest, tmp_path: Path) -> None:
    opened = repo.open()
    publish(opened, tmp_path, "acme", ["1.0", "1.1", "1.2"])
    publish(opened, tmp_path, "Other_Pkg", ["0.1", "0.2"])
    before = snapshot(opened)
    text = repo.cli("prune", "-b", repo.url, "--keep", "1", "--dry-run").assert_ok().stdout
    assert "delete acme 1.0 (1 file" in text and "delete acme 1.1 (1 file" in text
    assert "keep acme 1.2 (1 file" in text and "delete Other_Pkg 0.1 (1 file" in text
    assert text.splitlines()[-1].startswith(f"Dry run, nothing changed in {opened.location}: would delete 3 versions (")
    data = json.loads(repo.cli("prune", "-b", repo.url, "--keep", "1", "--dry-run", "--json").assert_ok().stdout)
    assert data["dry_run"] is True and data["policy"]["keep"] == 1
    assert [(d["name"], d["version"], d["action"]) for d in data["decisions"]] == [
        ("acme", "1.2", "keep"), ("acme", "1.1", "delete"), ("acme", "1.0", "delete"),
        ("Other_Pkg", "0.2", "keep"), ("Other_Pkg", "0.1", "delete")]
    first = data["decisions"][1]
    assert first["files"][0]["filename"] == "acme-1.1-py3-none-any.whl" and first["bytes"] == first["files"][0]["size"]
    assert first["reasons"] == ["not among the 1 newest (number 2)"]
    assert data["summary"]["delete"]["versions"] == 3 and data["summary"]["keep"]["versions"] == 2
    assert snapshot(repo.open()) == before


def test_json_of_a_real_run(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(local_repo.open(), tmp_path, "acme", ["1.0", "1.1", "1.2"])
    data = json.loads(local_repo.cli("prune", "acme", "-b", local_repo.url, "--keep", "2", "--json").assert_ok().stdout)
    assert data["dry_run"] is False and data["finished"] == [] and data["warnings"] == []
    assert {d["version"]: d["action"] for d in data["decisions"]} == {"1.2": "keep", "1.1": "keep", "1.0": "delete"}
    assert data["summary"]["delete"]["versions"] == 1 and data["summary"]["delete"]["bytes"] > 0
    assert versions(local_repo.open(), "acme") == ["1.1", "1.2"]


def test_locked_versions_are_kept_by_version_and_by_sha256(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    repo = local_repo.open()
    publish(repo, tmp_path, "acme", ["0.9.0", "1.0.0", "1.1.0", "1.2.0", "1.3.0"])
    sha = {v: next(iter(r.files.values())).sha256 for v, r in repo.require_index("acme").releases.items()}
    (tmp_path / "requirements.txt").write_text(f"acme==1.0.0\nacme-other==7.7 --hash=sha256:{sha['1.2.0']}\n"
                                               f"acme==7.7 --hash=sha256:{sha['1.2.0']}\n")
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "acme"\nversion = "1.1.0"\ndescription = ""\noptional = false\n'
        'python-versions = "*"\nfiles = [{file = "acme-1.1.0-py3-none-any.whl", hash = "sha256:' + sha["1.1.0"] + '"}]\n\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = "*"\ncontent-hash = "0"\n')
    result = local_repo.cli("prune", "-b", local_repo.url, "--keep", "1", "--keep-locked", str(tmp_path / "requirements.txt"),
                            "--keep-locked", str(tmp_path / "poetry.lock")).assert_ok()
    assert f"keep acme 1.0.0 (1 file, 957 B): locked by {tmp_path / 'requirements.txt'}" in result.stdout
    assert f"keep acme 1.1.0 (1 file, 957 B): locked by {tmp_path / 'poetry.lock'} (acme 1.1.0)" in result.stdout
    assert "keep acme 1.2.0 (1 file, 957 B): locked by" in result.stdout  # by its sha256 under another version
    assert versions(local_repo.open(), "acme") == ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]


def test_older_than_and_the_yank_grace_period(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    repo = local_repo.open()
    publish(repo, tmp_path, "acme", ["1.0", "1.1", "1.2", "1.3"])
    backdate(repo, "acme", 100, ["1.0", "1.1", "1.2"])
    args = ("prune", "-b", local_repo.url, "--older-than", "30d", "--yank")
    out = local_repo.cli(*args).assert_ok().stdout
    assert "yank acme 1.1 (1 file, 935 B): uploaded 100 days ago, older than 30d" in out
    assert "keep acme 1.3 (1 file, 935 B): newest release; uploaded " in out
    assert out.splitlines()[-1].endswith(": yanked 3 versions (2.8 kB), kept 1 version (935 B)")
    index = local_repo.open().require_index("acme")
    assert [v for v, r in index.releases.items() if r.yanked] == ["1.0", "1.1", "1.2"]
    assert index.releases["1.0"].yanked_reason == "retention (older than 30d): yanked by pipper prune, deleted 30d later unless pinned"
    # Yanked just now: kept through the grace period.
    out = local_repo.cli(*args).assert_ok().stdout
    assert "keep acme 1.0 (1 file, 935 B): yanked " in out and "ago, not longer than 30d" in out
    assert out.splitlines()[-1].endswith(": nothing removed, kept 4 versions (3.7 kB)")
    clean(local_repo.open())
    # 31 days later the same prune deletes them.
    later = datetime.datetime.now(datetime.UTC) + 31 * DAY
    report = prune(local_repo.open(), [], Policy(older_than=30 * DAY, yank=True), now=later)
    assert [str(d.version) for d in report.plan.by_action(DELETE)] == ["1.2", "1.1", "1.0"]
    assert versions(local_repo.open(), "acme") == ["1.3"]
    clean(local_repo.open())


def test_a_package_whose_every_version_is_yanked_leaves_the_root_list(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    repo = local_repo.open()
    publish(repo, tmp_path, "gone", ["0.1"])
    publish(repo, tmp_path, "stays", ["1.0"])
    local_repo.cli("yank", "gone:0.1", "-b", local_repo.url).assert_ok()
    local_repo.cli("prune", "-b", local_repo.url, "--keep", "1").assert_ok()
    assert list(local_repo.open().packages().packages) == ["stays"]
    clean(local_repo.open())


@pytest.mark.parametrize(("args", "expected"), [
    ((), "prune needs a rule: give --keep N, --older-than DURATION (e.g. 90d), or both"),
    (("--keep", "0"), "--keep 0: keep at least 1 version"),
    (("--keep", "two"), "--keep 'two' is not a whole number"),
    (("--keep=-3",), "is not a whole number"),
    (("--older-than", "3 months"), "months and years vary in length"),
    (("--keep", "1", "no-such-pkg"), "no-such-pkg is not published in"),
    (("--keep", "1", "bad/name"), "invalid package name 'bad/name'"),
    (("--keep", "1", "--keep-locked", "missing.lock"), "cannot read missing.lock: no such file"),
])
def test_bad_input_is_one_line_and_changes_nothing(local_repo: RepoUnderTest, tmp_path: Path, args: tuple[str, ...],
                                                   expected: str) -> None:
    repo = local_repo.open()
    publish(repo, tmp_path, "acme", ["1.0", "1.1"])
    before = snapshot(repo)
    line = local_repo.cli("prune", "-b", local_repo.url, *args, cwd=tmp_path).assert_one_line_error()
    assert expected in line, line
    assert snapshot(local_repo.open()) == before


def test_an_empty_repository_has_nothing_to_prune(local_repo: RepoUnderTest) -> None:
    out = local_repo.cli("prune", "-b", local_repo.url, "--keep", "3").assert_ok().stdout
    assert out.strip().endswith("nothing to prune (no versions)")


def test_request_counts(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    """Planning: one GET per package index and one LIST; removing N one-file versions of a package: 4N + 10."""
    repo = s3_repo.open()
    publish(repo, tmp_path, "acme", [f"1.0.{n}" for n in range(11)])
    publish(repo, tmp_path, "other", ["1.0"])

    def count(*args: str) -> Counter[str]:
        s3_repo.mark()
        s3_repo.cli("prune", "-b", s3_repo.url, *args).assert_ok()
        return Counter(f"{r.method} {'LIST' if 'list-type' in r.path else 'obj'}" for r in s3_repo.requests())

    dry = count("acme", "--keep", "1", "--dry-run")
    print("dry run, one package:", dict(dry))
    assert dry == {"GET obj": 1, "GET LIST": 1}  # the index; the markers of unfinished prunes
    every = count("--keep", "1", "--dry-run")
    assert every == {"GET obj": 3, "GET LIST": 1}  # + the root list, one index per package
    applied = count("acme", "--keep", "1")
    print("prune of 10 versions of one package:", dict(applied), "total", sum(applied.values()))
    # plan: index + LIST pending; apply: index, LIST records, 10 record GETs, marker PUT, 10 record DELETEs,
    # index CAS (GET, LIST records, PUT), 2 page PUTs (HTML, JSON), index re-GET, 20 file/sidecar DELETEs,
    # marker DELETE
    assert applied == {"GET obj": 1 + 1 + 10 + 2, "GET LIST": 1 + 1 + 1, "PUT obj": 4, "DELETE obj": 10 + 20 + 1}
    assert sum(applied.values()) == 2 + 4 * 10 + 10
    assert versions(s3_repo.open(), "acme") == ["1.0.10"]
    publish(repo, tmp_path, "other", [f"2.0.{n}" for n in range(10)])
    yanked = count("other", "--keep", "1", "--yank")
    print("yanking 10 versions of one package:", dict(yanked), "total", sum(yanked.values()))
    # plan 2; fresh reads 2 + 10; marker PUT and DELETE; per version lifecycle.update_files: index GET, LIST,
    # record GET, record CAS (GET, PUT), then the index CAS (GET, LIST, record GET, PUT), 2 page PUTs, index re-GET
    assert sum(yanked.values()) == 2 + 2 + 10 + 2 + 10 * 12


def test_verify_reports_an_unfinished_prune_and_prune_finishes_it(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    """The state a kill leaves right after the first record deletion: verify accepts it, prune finishes it."""
    repo = local_repo.open()
    publish(repo, tmp_path, "acme", ["1.0", "2.0"])
    dist = next(iter(repo.require_index("acme").releases["1.0"].files.values()))
    marker = PendingChanges("acme", "2026-11-30T02:00:00Z", {"1.0": PendingVersion(DELETE, {dist.filename: dist.sha256})})
    repo.storage.put(pending_key("acme"), marker.to_bytes(), content_type=JSON_TYPE)
    repo.storage.delete(record_key("acme", "1.0", dist.filename))

    out = local_repo.cli("verify", "-b", local_repo.url).assert_ok().stdout
    assert "unfinished prune: acme: delete 1.0 (started 2026-11-30T02:00:00Z); run `pipper prune` again" in out
    assert out.strip().endswith("no drift")
    data = json.loads(local_repo.cli("verify", "-b", local_repo.url, "--json").assert_ok().stdout)
    assert data["pending"][0]["versions"]["1.0"]["files"] == {dist.filename: dist.sha256}
    dry = local_repo.cli("prune", "-b", local_repo.url, "--keep", "5", "--dry-run").assert_ok().stdout
    assert "unfinished prune: acme: delete 1.0" in dry
    # Any prune of the package finishes a committed deletion, whatever its own rules say.
    done = local_repo.cli("prune", "-b", local_repo.url, "--keep", "5").assert_ok().stdout
    assert "acme 1.0: finished the deletion an interrupted prune began (started 2026-11-30T02:00:00Z)" in done
    assert versions(local_repo.open(), "acme") == ["2.0"]
    assert clean(local_repo.open()).pending == []
    # Without the marker the same state is drift.
    publish(repo, tmp_path, "beta", ["1.0"])
    beta = next(iter(repo.require_index("beta").releases["1.0"].files.values()))
    repo.storage.delete(record_key("beta", "1.0", beta.filename))
    local_repo.cli("verify", "-b", local_repo.url).assert_one_line_error()


def test_an_unreadable_marker_is_drift_and_prune_refuses_it(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    repo = local_repo.open()
    publish(repo, tmp_path, "acme", ["1.0", "2.0"])
    repo.storage.put(pending_key("acme"), b'{"format": 2, "pending": {"name": "other"}}', content_type=JSON_TYPE)
    result = local_repo.cli("verify", "-b", local_repo.url)
    assert "bad-pending: pending/acme.json:" in result.stdout
    line = local_repo.cli("prune", "-b", local_repo.url, "--keep", "1").assert_one_line_error()
    assert "pending/acme.json" in line and "not acme as its key says" in line
    assert versions(local_repo.open(), "acme") == ["1.0", "2.0"]


def test_a_reader_identity_gets_one_line_and_nothing_changes(auth_s3: AuthS3, tmp_path: Path) -> None:
    url = f"s3://{auth_s3.bucket}/prune-{uuid.uuid4().hex[:8]}"
    publisher = RepoUnderTest(url, auth_s3.env(auth_s3.publisher))
    for version in ("1.0", "1.1", "1.2"):
        publisher.cli("publish", str(make_wheel(tmp_path / version, "acme", version)), "-b", url).assert_ok()
    reader = RepoUnderTest(url, auth_s3.env(auth_s3.reader))
    # The plan needs only read access...
    out = reader.cli("prune", "-b", url, "--keep", "1", "--dry-run").assert_ok().stdout
    assert "would delete 2 versions" in out
    before = _objects(auth_s3, url)
    line = reader.cli("prune", "-b", url, "--keep", "1").assert_one_line_error()
    print(line)
    assert f"cannot prune {url}: AccessDenied on {url}/pending/acme.json" in line
    assert "nothing was changed (prune needs s3:PutObject and s3:DeleteObject, see docs/iam.md)" in line
    assert auth_s3.reader[1] not in line
    assert _objects(auth_s3, url) == before
    # ...the publisher policy of docs/iam.md is enough to prune.
    publisher.cli("prune", "-b", url, "--keep", "1").assert_ok()
    assert "no drift" in publisher.cli("verify", "-b", url).assert_ok().stdout
    assert len([k for k in _objects(auth_s3, url) if k.endswith(".whl")]) == 1


def _objects(auth_s3: AuthS3, url: str) -> dict[str, str]:
    import boto3

    prefix = url.split("/", 3)[3] + "/"
    client = boto3.client("s3", endpoint_url=auth_s3.server.endpoint, region_name="us-east-1",
                          aws_access_key_id=auth_s3.publisher[0], aws_secret_access_key=auth_s3.publisher[1])
    listed = client.list_objects_v2(Bucket=auth_s3.bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listed}


def test_protection_from_the_core_api(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    """prune() takes a Protection directly (what the command builds from --keep-locked)."""
    repo = local_repo.open()
    publish(repo, tmp_path, "acme", ["1.0", "1.1", "1.2"])
    sha = next(iter(repo.require_index("acme").releases["1.0"].files.values())).sha256
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"acme==1.0 --hash=sha256:{sha}\n")
    report = prune(repo, ["acme"], Policy(keep=1), Protection.from_files([lock]))
    assert {str(d.version): d.action for d in report.plan.decisions} == {"1.2": "keep", "1.1": "delete", "1.0": "keep"}
    assert hashlib.sha256(b"").hexdigest() not in json.dumps(report.to_json())
    assert index_key("acme") in set(repo.storage.list(""))
