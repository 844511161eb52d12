"""yank, unyank, delete, verify and reindex on both backends, through the CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from poetry_pipper.bundle import make_bundle
from poetry_pipper.index import DistFile, PackageIndex, RootIndex
from poetry_pipper.publish import publish_file

from .helpers import make_wheel, only_file, run_cli
from .servers import PublicIndex, RepoUnderTest, Venv, pip_env


def publish(repo: RepoUnderTest, tmp_path: Path, name: str, version: str, **kwargs) -> Path:  # type: ignore[no-untyped-def]
    where = tmp_path / "src" / f"{name}-{version}-{len(list((tmp_path / 'src').glob('*'))) if (tmp_path / 'src').exists() else 0}"
    wheel = make_wheel(where / "w", name, version, **kwargs)
    bundle, _ = make_bundle(wheel, where / "b")
    publish_file(repo.open(), bundle)  # in-process: `pipper publish` itself is tested elsewhere
    return bundle


def verify(repo: RepoUnderTest) -> dict:  # type: ignore[type-arg]
    result = repo.cli("verify", "-b", repo.url, "--json")
    report = json.loads(result.stdout)
    if report["ok"]:
        result.assert_ok()
    else:
        result.assert_one_line_error()
    return report  # type: ignore[no-any-return]


def kinds(report: dict) -> set[str]:  # type: ignore[type-arg]
    return {p["kind"] for p in report["problems"]}


def snapshot(repo: RepoUnderTest) -> dict[str, bytes]:
    storage = repo.open().storage
    return {key: storage.get(key).data for key in storage.list("")}


def downloaded(repo: RepoUnderTest, tmp_path: Path, spec: str) -> list[str]:
    out = tmp_path / f"dl-{len(list(tmp_path.glob('dl-*')))}"
    repo.cli("download", spec, "-b", repo.url, "-d", str(out), "--no-deps").assert_ok()
    return sorted(p.name for p in out.iterdir())


# -- yank -------------------------------------------------------------------------------------


def test_yank_and_unyank(repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(repo, tmp_path, "yankee", "1.0.0")
    publish(repo, tmp_path, "yankee", "1.1.0")
    out = repo.cli("yank", "yankee:1.1.0", "-b", repo.url, "--reason", "breaks  the\ncache").assert_ok().stdout
    assert "Yanked yankee 1.1.0 (breaks the cache)" in out

    core = repo.open()
    entry = core.require_index("yankee").releases["1.1.0"]
    assert entry.yanked and entry.yanked_reason == "breaks the cache"
    record = DistFile.from_record(
        core.storage.get("packages/yankee/releases/1.1.0/yankee-1.1.0-py3-none-any.whl.json").data, "record")
    assert record.yanked and record.yanked_reason == "breaks the cache" and record.yanked_at
    page = core.storage.get("simple/yankee/index.html").data.decode()
    assert 'data-yanked="breaks the cache">yankee-1.1.0-py3-none-any.whl' in page
    assert page.count("data-yanked") == 1
    info = json.loads(repo.cli("info", "yankee", "-b", repo.url, "--json").assert_ok().stdout)
    assert info["latest"] == "1.0.0"
    assert [v["yanked"] for v in info["versions"]] == [False, True]
    assert "yanked: breaks the cache" in repo.cli("info", "yankee", "-b", repo.url).assert_ok().stdout

    # Skipped unless pinned exactly, as pip and Poetry do (PEP 592).
    assert downloaded(repo, tmp_path, "yankee") == ["yankee-1.0.0.pipper"]
    line = repo.cli("download", "yankee>=1.1", "-b", repo.url, "-d", str(tmp_path / "none")).assert_one_line_error()
    assert "no version of yankee matches" in line and "available: 1.0.0" in line
    assert not (tmp_path / "none").exists() or not list((tmp_path / "none").iterdir())
    line = repo.cli("download", "yankee:1.1.*", "-b", repo.url, "-d", str(tmp_path / "none")).assert_one_line_error()
    assert "no version of yankee matches" in line
    assert downloaded(repo, tmp_path, "yankee:1.1.0") == ["yankee-1.1.0.pipper"]
    assert downloaded(repo, tmp_path, "yankee==1.1.0") == ["yankee-1.1.0.pipper"]
    assert verify(repo)["ok"]

    # Same reason again: nothing written.
    repo.mark()
    again = repo.cli("yank", "yankee:1.1.0", "-b", repo.url, "--reason", "breaks the cache").assert_ok()
    assert "already yanked" in again.stdout
    if repo.kind == "s3":
        assert not [q for q in repo.requests() if q.method in ("PUT", "DELETE")]

    assert "Unyanked yankee 1.1.0" in repo.cli("unyank", "yankee:1.1.0", "-b", repo.url).assert_ok().stdout
    assert not core.require_index("yankee").releases["1.1.0"].yanked
    assert "data-yanked" not in core.storage.get("simple/yankee/index.html").data.decode()
    assert downloaded(repo, tmp_path, "yankee") == ["yankee-1.1.0.pipper"]
    assert "already unyanked" in repo.cli("unyank", "yankee==1.1.0", "-b", repo.url).assert_ok().stdout
    assert verify(repo)["ok"]


def test_yanked_dependency_is_taken_only_when_pinned_exactly(repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(repo, tmp_path, "base", "1.0.0")
    publish(repo, tmp_path, "base", "2.0.0")
    publish(repo, tmp_path, "loose", "1.0.0", requires=["base>=1"])
    publish(repo, tmp_path, "pinned", "1.0.0", requires=["base==2.0.0"])
    publish(repo, tmp_path, "only-yanked", "1.0.0", requires=["base>=2"])
    repo.cli("yank", "base:2.0.0", "-b", repo.url).assert_ok()
    out = tmp_path / "loose"
    repo.cli("download", "loose", "-b", repo.url, "-d", str(out)).assert_ok()
    assert sorted(p.name for p in out.iterdir()) == ["base-1.0.0.pipper", "loose-1.0.0.pipper"]
    out = tmp_path / "pinned"
    repo.cli("download", "pinned", "-b", repo.url, "-d", str(out)).assert_ok()
    assert sorted(p.name for p in out.iterdir()) == ["base-2.0.0.pipper", "pinned-1.0.0.pipper"]
    line = repo.cli("download", "only-yanked", "-b", repo.url, "-d", str(tmp_path / "x")).assert_one_line_error()
    assert "no version of base matches" in line


def test_install_skips_yanked_unless_pinned(s3_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(s3_repo, tmp_path, "yinst", "1.0.0")
    publish(s3_repo, tmp_path, "yinst", "2.0.0")
    s3_repo.cli("yank", "yinst:2.0.0", "-b", s3_repo.url, "--reason", "bad").assert_ok()
    env = {**s3_repo.env, **pip_env(public_index)}

    def version() -> str:
        return venv.run("import yinst; print(yinst.VERSION)").stdout.strip()

    plan = run_cli("install", "yinst", "--dry-run", "--json", "-b", s3_repo.url, python=venv.python, env=env).assert_ok()
    assert [s["version"] for s in json.loads(plan.stdout)] == ["1.0.0"]
    run_cli("install", "yinst", "-b", s3_repo.url, python=venv.python, env=env).assert_ok()
    assert version() == "1.0.0"
    run_cli("install", "yinst", "-u", "-b", s3_repo.url, python=venv.python, env=env).assert_ok()
    assert version() == "1.0.0"
    run_cli("install", "yinst:2.0.0", "-b", s3_repo.url, python=venv.python, env=env).assert_ok()
    assert version() == "2.0.0"


def test_yank_errors(repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(repo, tmp_path, "yerr", "1.0.0")
    before = snapshot(repo)
    cases = [
        (["yank", "yerr"], "needs one exact version"),
        (["yank", "yerr:1.*"], "needs one exact version"),
        (["yank", "yerr>=1"], "needs one exact version"),
        (["yank", "yerr:9.9"], "yerr 9.9 is not published"),
        (["unyank", "nothere:1.0"], "nothere 1.0 is not published"),
        (["yank", "yerr:1.0.0", "--reason", "x" * 501], "keep it under 500"),
        (["delete", "yerr:1.0.0"], "add --yes"),
        (["delete", "yerr:2.0", "--yes"], "yerr 2.0 is not published"),
        (["delete", "yerr:>1", "--yes"], "needs one exact version"),
    ]
    for args, expected in cases:
        line = repo.cli(*args, "-b", repo.url).assert_one_line_error()
        assert expected in line, (args, line)
    assert snapshot(repo) == before


# -- delete -----------------------------------------------------------------------------------


def test_delete_a_version_then_the_last_one(repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(repo, tmp_path, "Gone_Pkg", "1.0.0")
    publish(repo, tmp_path, "Gone_Pkg", "1.1.0")
    publish(repo, tmp_path, "stays", "1.0.0")
    core = repo.open()
    doomed = core.require_index("gone-pkg").releases["1.1.0"]

    out = repo.cli("delete", "gone-pkg:1.1.0", "-b", repo.url, "--yes").assert_ok().stdout
    assert "Deleted Gone_Pkg 1.1.0" in out
    assert list(core.storage.list("packages/gone-pkg/releases/1.1.0")) == []
    assert sorted(core.require_index("gone-pkg").releases) == ["1.0.0"]
    assert not core.storage.exists(only_file(doomed).key) and not core.storage.exists(only_file(doomed).metadata_key)
    assert "gone_pkg-1.1.0" not in core.storage.get("simple/gone-pkg/index.html").data.decode()
    assert "gone-pkg" in RootIndex.from_bytes(core.storage.get("packages/index.json").data, "root").packages
    assert verify(repo)["ok"]

    repo.cli("delete", "Gone.Pkg==1.0.0", "-b", repo.url, "-y", "--json").assert_ok()
    assert list(core.storage.list("packages/gone-pkg/files/")) == []
    assert list(core.storage.list("packages/gone-pkg/releases/")) == []
    root = RootIndex.from_bytes(core.storage.get("packages/index.json").data, "root")
    assert root.packages == {"stays": "stays"}
    assert "gone-pkg" not in core.storage.get("simple/index.html").data.decode()
    # The index stays, empty, so a later publisher's compare-and-swap keeps working.
    assert PackageIndex.from_bytes(core.storage.get("packages/gone-pkg/index.json").data, "i").releases == {}
    assert "not found" in repo.cli("info", "gone-pkg", "-b", repo.url).assert_one_line_error()
    assert "not found" in repo.cli("download", "gone-pkg", "-b", repo.url, "-d", str(tmp_path / "d")).assert_one_line_error()
    assert verify(repo)["ok"]

    publish(repo, tmp_path, "Gone_Pkg", "2.0.0")
    assert "gone-pkg" in RootIndex.from_bytes(core.storage.get("packages/index.json").data, "root").packages
    assert sorted(core.require_index("gone-pkg").releases) == ["2.0.0"]
    assert verify(repo)["ok"]


# -- verify and reindex -----------------------------------------------------------------------


def damage(repo: RepoUnderTest, tmp_path: Path) -> None:
    """Publish a few packages, then break one thing of each kind by hand."""
    for name, versions in {"alpha": ["1.0", "1.1"], "beta": ["1.0", "1.1", "1.2"], "gamma": ["1.0", "2.0"]}.items():
        for version in versions:
            publish(repo, tmp_path, name, version)
    core = repo.open()
    storage = core.storage
    alpha, beta, gamma = (core.require_index(n) for n in ("alpha", "beta", "gamma"))
    storage.delete(only_file(alpha.releases["1.0"]).key)                         # missing-file
    storage.put(only_file(alpha.releases["1.1"]).key, b"not the wheel")           # sha256-mismatch
    storage.delete(only_file(beta.releases["1.0"]).metadata_key)                 # missing-metadata
    storage.put(only_file(beta.releases["1.1"]).metadata_key, b"Name: beta\n")   # metadata-mismatch
    storage.delete("packages/beta/releases/1.2/beta-1.2-py3-none-any.whl.json")   # unrecorded-entry
    del gamma.releases["2.0"]
    storage.put("packages/gamma/index.json", gamma.to_bytes())                   # unindexed-file (+ stale page)
    record_key = "packages/gamma/releases/1.0/gamma-1.0-py3-none-any.whl.json"
    record = DistFile.from_record(storage.get(record_key).data, record_key)
    from dataclasses import replace

    storage.put(record_key, replace(record, yanked=True, yanked_reason="oops").record_bytes())  # entry-differs
    storage.put("packages/gamma/files/" + "0" * 64 + "/gamma-9.0-py3-none-any.whl", b"x")  # orphan-file
    storage.put("notes/readme.txt", b"hello")                                    # foreign-object
    storage.put("packages/stray.txt", b"hello")                                  # foreign-object
    root = RootIndex.from_bytes(storage.get("packages/index.json").data, "root")
    del root.packages["gamma"]
    storage.put("packages/index.json", root.to_bytes())                          # unlisted-package (+ stale root page)


def test_verify_reports_drift_and_reindex_repairs_it(repo: RepoUnderTest, tmp_path: Path) -> None:
    damage(repo, tmp_path)
    report = verify(repo)
    found = Counter(p["kind"] for p in report["problems"])
    print("drift found:", dict(found))
    assert set(found) == {
        "missing-file", "sha256-mismatch", "missing-metadata", "metadata-mismatch", "unrecorded-entry",
        "unindexed-file", "entry-differs", "orphan-file", "foreign-object", "stale-page", "unlisted-package",
    }
    # gamma's pages and the root's: an HTML page each, and on S3 a PEP 691 JSON page each too.
    assert found["foreign-object"] == 2 and found["stale-page"] == (4 if repo.kind == "s3" else 2)
    text = repo.cli("verify", "-b", repo.url)
    line = text.assert_one_line_error()
    assert f"{len(report['problems'])} problems in" in line and "pipper reindex" in line
    assert "missing-file: packages/alpha/files/" in text.stdout
    assert "foreign-object: notes/readme.txt: not part of the pipper repository layout" in text.stdout

    result = json.loads(repo.cli("reindex", "-b", repo.url, "--json").assert_ok().stdout)
    assert [p["kind"] for p in result["skipped"]] == ["missing-file"]  # alpha 1.0: a record without its wheel
    json_pages = {"simple/alpha/", "simple/beta/", "simple/gamma/"} if repo.kind == "s3" else set()
    assert set(result["written"]) == {"packages/alpha/index.json", "packages/beta/index.json", "simple/alpha/index.html",
                                      "simple/beta/index.html", "packages/gamma/index.json", "simple/gamma/index.html",
                                      "packages/index.json", *json_pages}
    core = repo.open()
    assert sorted(core.require_index("alpha").releases) == ["1.1"]
    assert sorted(core.require_index("beta").releases) == ["1.0", "1.1"]
    gamma = core.require_index("gamma")
    assert sorted(gamma.releases) == ["1.0", "2.0"] and gamma.releases["1.0"].yanked

    after = verify(repo)
    # What reindex cannot repair (damaged or missing files, strays) is still reported.
    assert kinds(after) == {"missing-file", "sha256-mismatch", "missing-metadata", "metadata-mismatch",
                            "orphan-file", "foreign-object"}
    missing = [p for p in after["problems"] if p["kind"] == "missing-file"]
    assert len(missing) == 1 and "alpha-1.0" in missing[0]["key"]

    repo.mark()
    again = repo.cli("reindex", "-b", repo.url).assert_ok().stdout
    assert "everything was already up to date" in again
    if repo.kind == "s3":
        assert not [q for q in repo.requests() if q.method in ("PUT", "POST", "DELETE")]


def test_reindex_rebuilds_lost_indexes_and_pages_identically(repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(repo, tmp_path, "One", "1.0.0")
    publish(repo, tmp_path, "One", "1.1.0", requires=["two>=1"])
    publish(repo, tmp_path, "two", "1.0.0")
    repo.cli("yank", "one:1.0.0", "-b", repo.url, "--reason", "old").assert_ok()
    before = snapshot(repo)
    storage = repo.open().storage
    derived = [k for k in before if not ("/releases/" in k or "/files/" in k)]
    # On S3 the PEP 691 JSON pages too, at the keys uv asks for (simple/ and simple/<name>/).
    json_pages = ["simple/", "simple/one/", "simple/two/"] if repo.kind == "s3" else []
    assert sorted(derived) == sorted(["packages/index.json", "packages/one/index.json", "packages/two/index.json",
                                      "simple/index.html", "simple/one/index.html", "simple/two/index.html",
                                      *json_pages])
    for key in derived:
        storage.delete(key)
    out = repo.cli("reindex", "-b", repo.url).assert_ok().stdout
    assert f"{len(derived)} objects rewritten" in out
    assert snapshot(repo) == before

    storage.put("packages/one/index.json", b"{not json")
    line = repo.cli("info", "one", "-b", repo.url).assert_one_line_error()
    assert "not valid JSON" in line and "pipper reindex" in line
    repo.cli("reindex", "-b", repo.url).assert_ok()
    assert snapshot(repo) == before


def test_reindex_and_publish_refuse_a_newer_format(repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(repo, tmp_path, "future", "1.0.0")
    storage = repo.open().storage
    storage.put("packages/future/index.json", json.dumps({"format": 99, "name": "future", "releases": {}}).encode())
    before = snapshot(repo)
    for args in (["reindex"], ["verify"], ["info", "future"], ["yank", "future:1.0.0"]):
        line = repo.cli(*args, "-b", repo.url).assert_one_line_error()
        assert "uses repository format 99" in line and "upgrade poetry-pipper" in line, args
    wheel = make_wheel(tmp_path / "w2", "future", "2.0.0")
    line = repo.cli("publish", str(wheel), "-b", repo.url).assert_one_line_error()
    assert "upgrade poetry-pipper" in line
    assert snapshot(repo) == before


@pytest.mark.parametrize("command", ["verify", "reindex"])
def test_empty_repository(repo: RepoUnderTest, command: str) -> None:
    out = repo.cli(command, "-b", repo.url).assert_ok().stdout
    assert "0 packages, 0 versions" in out
