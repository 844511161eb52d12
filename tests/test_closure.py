"""Closure hints (issue 18): each release records the private packages it leads to (``private_closure``),
so that after the first index a resolver fetches all the others at once. Publishing keeps them, reindex
recomputes them, verify reports a missing name; a stale or wrong closure changes what is fetched, never
what is chosen.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from poetry_pipper.closure import exact, graph_reach, prefetch_names, spread
from poetry_pipper.index import DistFile, PackageIndex, Release
from poetry_pipper.prefetch import IndexFetcher

from .helpers import make_wheel
from .servers import PublicIndex, RepoUnderTest
from .test_poetry_guard import app, locked

CHAIN = [f"link-{i}" for i in range(4)]


def publish(repo: RepoUnderTest, tmp_path: Path, name: str, version: str, requires: list[str] | None = None) -> None:
    wheel = make_wheel(tmp_path / "w" / f"{name}-{version}", name, version, requires=requires or [])
    repo.cli("publish", str(wheel), "-b", repo.url).assert_ok()


def publish_chain(repo: RepoUnderTest, tmp_path: Path, order: list[str], version: str = "1.0") -> None:
    for name in order:
        i = CHAIN.index(name)
        publish(repo, tmp_path, name, version, [f"{CHAIN[i + 1]}>=1"] if i + 1 < len(CHAIN) else [])


def closures(repo: RepoUnderTest, name: str) -> dict[str, tuple[str, ...]]:
    return {v: r.private_closure for v, r in repo.open().require_index(name).releases.items()}


def drift(repo: RepoUnderTest) -> set[str]:
    report = json.loads(repo.cli("verify", "-b", repo.url, "--json").stdout)
    return {p["kind"] for p in report["problems"]}


@pytest.mark.parametrize("order", ["dependencies first", "dependents first"])
def test_publishing_records_every_closure_whatever_the_order(repo: RepoUnderTest, tmp_path: Path, order: str) -> None:
    publish_chain(repo, tmp_path, CHAIN[::-1] if order == "dependencies first" else CHAIN)
    assert closures(repo, "link-0") == {"1.0": ("link-1", "link-2", "link-3")}
    assert closures(repo, "link-1") == {"1.0": ("link-2", "link-3")}
    assert closures(repo, "link-3") == {"1.0": ()}
    assert drift(repo) == set()


def test_a_new_dependency_reaches_the_closures_that_lead_to_it(repo: RepoUnderTest, tmp_path: Path) -> None:
    publish_chain(repo, tmp_path, ["link-1", "link-0"])  # link-1 is the leaf for now
    publish(repo, tmp_path, "extra", "1.0")
    assert closures(repo, "link-0") == {"1.0": ("link-1",)}
    publish(repo, tmp_path, "link-1", "2.0", ["extra"])  # link-1 now leads further: so does link-0
    assert closures(repo, "link-1") == {"1.0": (), "2.0": ("extra",)}
    assert closures(repo, "link-0") == {"1.0": ("extra", "link-1")}
    assert drift(repo) == set()


def test_verify_reports_a_missing_closure_and_reindex_restores_it(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    publish_chain(s3_repo, tmp_path, CHAIN[::-1])
    core = s3_repo.open()
    index = core.require_index("link-0")
    index.releases["1.0"] = Release.of(*index.releases["1.0"].files.values(), private_requires=["link-1"])
    core.storage.put("packages/link-0/index.json", index.to_bytes())
    report = s3_repo.cli("verify", "-b", s3_repo.url)
    assert report.code == 1
    assert ("missing-closure: packages/link-0/index.json: link-0 1.0 leads to link-1, link-2, link-3, which its closure"
            " lacks") in report.stdout
    s3_repo.cli("reindex", "-b", s3_repo.url).assert_ok()
    assert closures(s3_repo, "link-0") == {"1.0": ("link-1", "link-2", "link-3")}
    assert drift(s3_repo) == set()
    s3_repo.mark()
    s3_repo.cli("reindex", "-b", s3_repo.url).assert_ok()
    assert "PUT" not in Counter(r.method for r in s3_repo.requests())  # nothing left to write


def test_publish_reads_each_direct_private_dependency_once(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    """What a closure costs a publish: one GET per direct private dependency (tests/test_repository.py has
    the counts without any)."""
    publish_chain(s3_repo, tmp_path, CHAIN[::-1])
    s3_repo.mark()
    publish(s3_repo, tmp_path, "link-0", "1.1", ["link-1>=1"])
    assert Counter(r.method for r in s3_repo.requests()) == {"GET": 6 + 1, "PUT": 6}


def test_a_wrong_closure_changes_what_is_fetched_not_what_is_chosen(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    publish_chain(s3_repo, tmp_path, CHAIN[::-1])
    publish(s3_repo, tmp_path, "link-1", "2.0", ["link-2>=1"])
    core = s3_repo.open()
    index = core.require_index("link-0")  # a closure that misses link-1 and names a package that is not there
    index.releases["1.0"] = Release.of(*index.releases["1.0"].files.values(), private_requires=["link-1"],
                                       private_closure=["link-3", "ghost"])
    core.storage.put("packages/link-0/index.json", index.to_bytes())
    s3_repo.mark()
    plan = json.loads(s3_repo.cli("install", "link-0", "-b", s3_repo.url, "--dry-run", "--json").assert_ok().stdout)
    assert {(step["name"], step["version"]) for step in plan} == {
        ("link-0", "1.0"), ("link-1", "2.0"), ("link-2", "1.0"), ("link-3", "1.0")}
    gets = [r.path.split("?")[0].rsplit("/packages/", 1)[-1] for r in s3_repo.requests() if r.method == "GET"]
    assert sorted(p for p in gets if p.endswith("/index.json")) == [
        "ghost/index.json", *(f"{name}/index.json" for name in CHAIN)]


def test_a_resolution_costs_one_get_per_private_package(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    publish_chain(s3_repo, tmp_path, CHAIN[::-1])
    s3_repo.mark()
    s3_repo.cli("install", "link-0", "-b", s3_repo.url, "--dry-run").assert_ok()
    assert Counter(r.method for r in s3_repo.requests()) == {"GET": len(CHAIN)}


# -- the pure parts ------------------------------------------------------------------------------------


def index_of(name: str, versions: dict[str, tuple[list[str], list[str]]]) -> PackageIndex:
    index = PackageIndex.empty(name)
    for version, (hints, closure) in versions.items():
        dist = DistFile(name, version, f"{name}-{version}-py3-none-any.whl", "0" * 64, 1)
        index.releases[version] = Release.of(dist, private_requires=hints, private_closure=closure)
    return index


def test_exact_closures_follow_any_version_and_cycles() -> None:
    indexes = {
        "app": index_of("app", {"1.0": (["a"], []), "2.0": (["b"], [])}),
        "a": index_of("a", {"1.0": ([], []), "2.0": (["c"], [])}),  # only a 2.0 leads to c: it still counts
        "b": index_of("b", {"1.0": (["app"], [])}),  # a cycle back to app
        "c": index_of("c", {"1.0": ([], [])}),
    }
    closures = exact(indexes)
    assert closures["app"] == {"1.0": ("a", "c"), "2.0": ("a", "b", "c")}  # b leads back to app: itself left out
    assert closures["b"] == {"1.0": ("a", "app", "c")}
    assert graph_reach({"x": {"y"}, "y": {"x"}}) == {"x": {"x", "y"}, "y": {"x", "y"}}


def test_spread_reaches_every_release_that_leads_there() -> None:
    indexes = {
        "top": index_of("top", {"1.0": (["mid"], ["mid", "leaf"])}),
        "mid": index_of("mid", {"1.0": (["leaf"], ["leaf"])}),
        "other": index_of("other", {"1.0": ([], [])}),
    }
    assert spread(indexes, "leaf", {"new"}) == {"top": {"1.0": {"new"}}, "mid": {"1.0": {"new"}}}


def test_prefetch_names_take_the_likely_release() -> None:
    index = index_of("p", {"1.0": (["old"], ["old", "older"]), "2.0": (["dep"], ["dep", "deep"]),
                           "3.0rc1": (["pre"], ["pre", "prer"])})
    assert prefetch_names(index) == {"old", "dep", "deep", "pre"}  # every hint, the closure of 2.0


def test_the_fetcher_fetches_the_closure_as_soon_as_an_index_arrives() -> None:
    indexes = {"top": index_of("top", {"1.0": (["mid"], ["mid", "leaf"])}),
               "mid": index_of("mid", {"1.0": (["leaf"], ["leaf"])}), "leaf": index_of("leaf", {"1.0": ([], [])})}
    loaded: list[str] = []
    lock = threading.Lock()

    def load(name: str) -> PackageIndex | None:
        with lock:
            loaded.append(name)
        return indexes.get(name)

    fetcher = IndexFetcher(load)
    assert fetcher.get("top") is indexes["top"]
    leaf = fetcher.peek("leaf")  # started by top's closure, before anyone asked
    assert leaf is not None and leaf.result() is indexes["leaf"]
    assert fetcher.get("mid") is indexes["mid"] and fetcher.get("leaf") is indexes["leaf"]
    fetcher.close()
    assert sorted(loaded) == ["leaf", "mid", "top"]  # each once


# -- Poetry ---------------------------------------------------------------------------------------------


@pytest.mark.poetry
def test_poetry_lock_of_private_names_needs_no_root_list(s3_repo: RepoUnderTest, public_index: PublicIndex,
                                                          tmp_path: Path) -> None:
    """Every name the lock meets is in an index the source fetched: no root-list GET, one GET per package
    (the root list is read only to tell that a name is *not* published: tests/test_poetry_guard.py). The
    GETs started at the COMMAND event (plugin/early.py) are the source's: none is made twice."""
    publish_chain(s3_repo, tmp_path, CHAIN[::-1])
    project = app(tmp_path, s3_repo, public_index, {"link-0": '{version = "*", source = "private"}'})
    s3_repo.mark()
    project.poetry("lock").assert_ok()
    paths = sorted(r.path.split("?")[0].rsplit("/packages/", 1)[-1] for r in s3_repo.requests())
    assert paths == [f"{name}/index.json" for name in CHAIN]
    assert {name: version for name, (version, _) in locked(project).items()} == dict.fromkeys(CHAIN, "1.0")


def test_the_direct_dependencies_a_project_declares() -> None:
    from poetry_pipper.plugin.early import direct_dependencies

    data = {
        "project": {"dependencies": ["Link_0>=1", "requests>=2 ; python_version>'3.8'"],
                    "optional-dependencies": {"x": ["extra-lib"]}},
        "dependency-groups": {"lint": ["ruff", {"include-group": "x"}]},
        "tool": {"poetry": {
            "dependencies": {"python": ">=3.10", "link-0": {"source": "Private"}, "plain": "*",
                             "split": [{"version": "1", "source": "private", "python": "<3.12"}, {"version": "2"}]},
            "group": {"dev": {"dependencies": {"devlib": {"version": "*", "source": "other"}}}},
        }},
    }
    pinned, free = direct_dependencies(data)
    assert pinned == {"private": {"link-0", "split"}, "other": {"devlib"}}
    assert free == {"requests", "extra-lib", "ruff", "plain"}


def test_what_started_early_is_adopted_only_for_the_same_identity(tmp_path: Path) -> None:
    from concurrent.futures import Future

    from poetry_pipper.access import Access
    from poetry_pipper.credentials import Credentials
    from poetry_pipper.location import parse_location
    from poetry_pipper.plugin import early
    from poetry_pipper.prefetch import SourceReader
    from poetry_pipper.repository import open_repository

    location = parse_location(str(tmp_path))
    reader = SourceReader(open_repository(location))
    started = Access(location, Credentials("AKIAFIRST", "secret", source="test"), "Poetry source 'private'")
    for asked, expected in ((started, reader), (Access(location, Credentials("AKIAOTHER", "secret", source="test"),
                                                       "Poetry source 'private'"), None)):
        future: Future[tuple[Access, SourceReader]] = Future()
        future.set_result((started, reader))
        early._STARTED["private", "file:///x"] = future
        assert early.started("private", "file:///x")
        assert early.adopt("private", "file:///x", asked) is expected
        assert not early.started("private", "file:///x")  # taken once
    failed: Future[tuple[Access, SourceReader]] = Future()
    failed.set_exception(RuntimeError("could not open"))
    early._STARTED["private", "file:///x"] = failed
    assert early.adopt("private", "file:///x", started) is None  # opened again by the source, which reports it


def test_a_source_whose_early_thread_cannot_start_is_opened_again_not_waited_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from poetry_pipper.access import Access
    from poetry_pipper.credentials import Credentials
    from poetry_pipper.location import parse_location
    from poetry_pipper.plugin import early

    url = (tmp_path / "repo").as_uri()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\npackage-mode = false\n\n[tool.poetry.dependencies]\nlib = {version = "*", source = "private"}\n'
        f'\n[[tool.poetry.source]]\nname = "private"\nurl = "{url}"\npriority = "explicit"\n')

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    with monkeypatch.context() as patched:
        patched.setattr(threading.Thread, "start", refuse)
        early.start(tmp_path / "pyproject.toml")
    assert early.started("private", url)
    access = Access(parse_location(url), Credentials(source="test"), "Poetry source 'private'")
    assert early.adopt("private", url, access) is None  # at once: the source opens it itself


def test_a_source_whose_reading_code_cannot_be_imported_is_not_started_early(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from poetry_pipper.plugin import early

    url = (tmp_path / "repo").as_uri()
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.poetry]\npackage-mode = false\n\n[[tool.poetry.source]]\nname = "private"\nurl = "{url}"\n')

    def broken(schemes: set[str]) -> None:
        raise ImportError("No module named 'packaging'")

    monkeypatch.setattr(early, "_import_readers", broken)
    early.start(tmp_path / "pyproject.toml")  # no error here: the source reports it when Poetry asks
    assert not early.started("private", url)
