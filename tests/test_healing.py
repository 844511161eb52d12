"""A publish killed after each of its steps leaves a repository that the next publish, or `pipper
reindex`, completes: the index, the page, the root list and the private-dependency hints of the
packages that depend on it.

"Killed after N writes" is a fault proxy in front of the moto server that lets N writes through
and refuses every later one (tests/faultproxy.py, cut_after_writes): the publisher stops there,
and the bucket holds exactly what a publisher killed at that moment would have left.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from poetry_pipper.index import RootIndex

from .helpers import make_wheel
from .servers import RepoUnderTest

#: The writes of the first publish of `dep`, which `user` already depends on: the wheel, its
#: metadata sidecar, the file record (the commit point), the index, its two pages (HTML, JSON),
#: `user`'s index (the hint), the root list and its two pages.
WRITES = 10


def first_publish_of_a_dependency(s3_repo: RepoUnderTest, tmp_path: Path, proxy_url: str | None) -> str:
    """`user` (depends on `dep`) is published; then `dep` for the first time, through ``proxy_url``."""
    s3_repo.cli("publish", str(make_wheel(tmp_path / "u", "user", "1.0", requires=["dep>=1"])), "-b", s3_repo.url).assert_ok()
    dep = make_wheel(tmp_path / "d", "dep", "1.0")
    env = {"AWS_ENDPOINT_URL": proxy_url, "AWS_MAX_ATTEMPTS": "1"} if proxy_url else {}
    result = s3_repo.cli("publish", str(dep), "-b", s3_repo.url, env=env)
    if proxy_url:
        assert result.code in (0, 1) and "Traceback" not in result.output
        if result.code == 1:
            result.assert_one_line_error()
    return str(dep)


def problems(s3_repo: RepoUnderTest) -> set[str]:
    report = json.loads(s3_repo.cli("verify", "-b", s3_repo.url, "--json").stdout)
    return {p["kind"] for p in report["problems"]}


def complete(s3_repo: RepoUnderTest) -> None:
    """Everything a finished publish leaves: listed, hinted, pages right, nothing else to say."""
    core = s3_repo.open()
    assert "dep" in core.packages().packages
    assert core.require_index("user").releases["1.0"].private_requires == ("dep",)
    assert problems(s3_repo) <= {"orphan-file"}, problems(s3_repo)


@pytest.mark.parametrize("writes", range(WRITES + 1))
@pytest.mark.parametrize("repair", ["publish", "reindex"])
def test_a_publish_killed_after_each_step_is_completed(s3_repo: RepoUnderTest, tmp_path: Path, fault_proxy,  # type: ignore[no-untyped-def]
                                                      writes: int, repair: str) -> None:
    proxy = fault_proxy(s3_repo.server.endpoint, cut_after_writes=writes)  # type: ignore[union-attr]
    dep = first_publish_of_a_dependency(s3_repo, tmp_path, proxy.url)
    assert proxy.writes == writes and (proxy.refused_writes == 0) == (writes == WRITES)
    gaps = problems(s3_repo)
    print(f"killed after {writes} writes: verify reports {sorted(gaps)}")
    if writes >= 3:  # the record exists: the file is published, whatever is missing is reported
        assert writes == WRITES or gaps - {"orphan-file"}, "a gap left behind must be reported"
    if repair == "publish":
        again = s3_repo.cli("publish", dep, "-b", s3_repo.url).assert_ok().stdout
        assert ("already published" in again) == (writes >= 3), again
    else:
        s3_repo.cli("reindex", "-b", s3_repo.url).assert_ok()
        if writes < 3:  # nothing was committed: reindex has nothing to add; publishing does it
            s3_repo.cli("publish", dep, "-b", s3_repo.url).assert_ok()
    complete(s3_repo)


def test_verify_reports_an_unlisted_package_and_a_missing_hint(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    first_publish_of_a_dependency(s3_repo, tmp_path, None)
    core = s3_repo.open()
    root = core.packages()
    del root.packages["dep"]
    core.storage.put("packages/index.json", RootIndex(root.packages).to_bytes())
    user = core.require_index("user")
    from dataclasses import replace

    user.releases["1.0"] = replace(user.releases["1.0"], private_requires=())
    core.storage.put("packages/user/index.json", user.to_bytes())
    assert {"unlisted-package", "missing-hint"} <= problems(s3_repo)
    s3_repo.cli("reindex", "-b", s3_repo.url).assert_ok()
    complete(s3_repo)
