"""Concurrent publishers against the real moto S3 server: separate processes, started together.

Each worker (tests/publish_worker.py) imports everything, waits for a start file, then runs the
real `pipper publish` entry point for each of its bundles, so the publishes overlap for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from poetry_pipper.bundle import make_bundle, read_bundle

from .helpers import ROOT, Result, make_sdist, make_wheel, only_file
from .servers import RepoUnderTest

WORKERS = 8


def bundles(tmp_path: Path, name: str, versions: list[str], *, distinct_bodies: bool = False,
            padding: int = 0) -> list[Path]:
    made = []
    for number, version in enumerate(versions):
        body = f"VERSION = {version!r}\nWORKER = {number}\n" if distinct_bodies else ""
        wheel = make_wheel(tmp_path / "w" / str(number), name, version, body=body, padding=padding)
        made.append(make_bundle(wheel, tmp_path / "b" / str(number))[0])
    return made


def sha256_of(bundle: Path, tmp_path: Path) -> str:
    import tempfile

    return read_bundle(bundle, Path(tempfile.mkdtemp(dir=tmp_path)))[0].sha256


def publish_together(repo_url: str, env: dict[str, str], shares: list[list[Path]], tmp_path: Path,
                     during: list[threading.Thread] = ()) -> list[dict]:  # type: ignore[assignment,type-arg]
    """Start one worker process per share, release them at once, return every publish result."""
    import os

    start = tmp_path / f"go-{time.monotonic_ns()}"
    procs, outs = [], []
    for number, share in enumerate(shares):
        out = tmp_path / f"worker-{number}-{time.monotonic_ns()}.jsonl"
        outs.append(out)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.publish_worker", str(start), str(out), "--", "-b", repo_url,
             ":::", *map(str, share)],
            cwd=ROOT, env={**os.environ, **env, "NO_COLOR": "1"},
        ))
    time.sleep(0.5)  # not for correctness: lets the workers finish importing so they really overlap
    start.touch()
    for thread in during:
        thread.start()
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    for thread in during:
        thread.join()
    return [json.loads(line) for out in outs for line in out.read_text().splitlines()]


def test_eight_processes_add_different_files_to_one_version(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    """Separate CI jobs each publishing their platform wheel of one version at the same moment: all win."""
    platforms = ["manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "musllinux_1_2_x86_64", "macosx_11_0_arm64",
                 "macosx_10_9_x86_64", "win_amd64", "win_arm64"]
    files = [make_wheel(tmp_path / "w" / p, "multi", "1.0.0", tags=[f"cp312-cp312-{p}"], body=f"P = {p!r}\n")
             for p in platforms]
    files.append(make_sdist(tmp_path / "s", "multi", "1.0.0"))
    s3_repo.mark()
    results = publish_together(s3_repo.url, s3_repo.env, [[f] for f in files], tmp_path)
    print(f"{len(results)} files of one version by {WORKERS} processes, conflicts: {dict(conflicts(s3_repo))}")
    assert len(results) == WORKERS
    for result in results:
        assert result["code"] == 0 and "Published multi 1.0.0" in result["stdout"], result
    release = s3_repo.open().require_index("multi").releases["1.0.0"]
    assert sorted(release.files) == sorted(f.name for f in files)
    assert "no drift" in s3_repo.cli("verify", "-b", s3_repo.url).assert_ok().stdout
    page = s3_repo.open().storage.get("simple/multi/index.html")
    assert page is not None and page.data.count(b"<a ") == WORKERS


def conflicts(repo: RepoUnderTest) -> Counter[int]:
    return Counter(r.status for r in repo.requests() if r.status in (409, 412))


def test_eight_processes_publish_forty_versions_while_reindex_runs(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    versions = [f"1.0.{n}" for n in range(40)]
    made = bundles(tmp_path, "crowd", versions)
    shares = [made[i::WORKERS] for i in range(WORKERS)]
    reindexed: list[Result] = []
    finished = threading.Event()

    def reindex_meanwhile() -> None:
        while not finished.is_set() and len(reindexed) < 3:
            reindexed.append(s3_repo.cli("reindex", "-b", s3_repo.url))

    reindexer = threading.Thread(target=reindex_meanwhile)
    s3_repo.mark()
    try:
        results = publish_together(s3_repo.url, s3_repo.env, shares, tmp_path, [reindexer])
    finally:
        finished.set()
        reindexer.join()
    print(f"{len(results)} publishes by {WORKERS} processes, {len(reindexed)} concurrent reindex runs,"
          f" conditional-write conflicts seen by the server: {dict(conflicts(s3_repo))}")
    assert len(results) == 40
    for result in results:
        assert result["code"] == 0 and "Published crowd" in result["stdout"], result
    for result in reindexed:
        result.assert_ok()

    index = s3_repo.open().require_index("crowd")
    assert sorted(index.releases, key=lambda v: int(v.rsplit(".", 1)[1])) == versions
    for bundle, version in zip(made, versions, strict=True):
        assert only_file(index.releases[version]).sha256 == sha256_of(bundle, tmp_path)
    assert "no drift" in s3_repo.cli("verify", "-b", s3_repo.url).assert_ok().stdout
    page = s3_repo.open().storage.get("simple/crowd/index.html")
    assert page is not None and page.data.count(b"<a ") == 40


def test_eight_processes_race_for_one_version(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    # ~1 MB each: the uploads take long enough that every worker is past its "is 1.0.0 taken?"
    # check before the first one creates the release record, so they race for the record itself.
    made = bundles(tmp_path, "race", ["1.0.0"] * WORKERS, distinct_bodies=True, padding=1000 * 1000)
    s3_repo.mark()
    results = publish_together(s3_repo.url, s3_repo.env, [[b] for b in made], tmp_path)
    print(f"{WORKERS} processes published race 1.0.0 with different content; conflicts seen by the server:"
          f" {dict(conflicts(s3_repo))}")
    winners = [r for r in results if r["code"] == 0]
    losers = [r for r in results if r["code"] != 0]
    assert len(winners) == 1, results
    assert "Published race 1.0.0" in winners[0]["stdout"]
    assert len(losers) == WORKERS - 1
    for loser in losers:
        line = Result(loser["code"], loser["stdout"], loser["stderr"]).assert_one_line_error()
        assert "already published with different content" in line

    winner_sha = sha256_of(Path(winners[0]["bundle"]), tmp_path)
    repo = s3_repo.open()
    release = repo.require_index("race").releases["1.0.0"]
    assert only_file(release).sha256 == winner_sha
    assert {k.split("/")[3] for k in repo.storage.list("packages/race/files/")} == {winner_sha}
    out = tmp_path / "dl"
    s3_repo.cli("download", "race:1.0.0", "-b", s3_repo.url, "-d", str(out)).assert_ok()
    assert sha256_of(out / "race-1.0.0.pipper", tmp_path) == winner_sha
    assert "no drift" in s3_repo.cli("verify", "-b", s3_repo.url).assert_ok().stdout


def test_server_that_ignores_conditional_writes(s3_repo: RepoUnderTest, tmp_path: Path, fault_proxy) -> None:  # type: ignore[no-untyped-def]
    """A proxy drops If-None-Match/If-Match, as some S3-compatible servers do (docs/FORMAT.md).

    Index updates can then overwrite each other, but no version is lost: every release record
    survives, the next publish heals, and `reindex` restores the index completely. For one
    version published with different contents, the last record written wins and its publisher
    is one that reported success; the overwritten content is left as an orphan file.
    """
    proxy = fault_proxy(s3_repo.server.endpoint, strip_conditions=True)
    env = {"AWS_ENDPOINT_URL": proxy.url}
    versions = [f"2.0.{n}" for n in range(24)]
    made = bundles(tmp_path / "distinct", "lax", versions)
    results = publish_together(s3_repo.url, env, [made[i::WORKERS] for i in range(WORKERS)], tmp_path)
    same = bundles(tmp_path / "same", "laxrace", ["1.0.0"] * WORKERS, distinct_bodies=True)
    raced = publish_together(s3_repo.url, env, [[b] for b in same], tmp_path)
    assert proxy.stripped > 0
    for result in [*results, *raced]:
        if result["code"] != 0:
            Result(result["code"], result["stdout"], result["stderr"]).assert_one_line_error()

    before = json.loads(s3_repo.cli("verify", "-b", s3_repo.url, "--json").stdout)
    indexed_before = len(s3_repo.open().require_index("lax").releases)
    print(f"conditions stripped: {proxy.stripped}; distinct versions indexed before reindex:"
          f" {indexed_before}/{len(versions)}; drift before reindex:"
          f" {dict(Counter(p['kind'] for p in before['problems']))}")
    s3_repo.cli("reindex", "-b", s3_repo.url).assert_ok()

    repo = s3_repo.open()
    assert sorted(repo.require_index("lax").releases) == sorted(versions)
    record = repo.require_index("laxrace").releases["1.0.0"]
    succeeded = {sha256_of(Path(r["bundle"]), tmp_path) for r in raced if r["code"] == 0}
    assert succeeded and only_file(record).sha256 in succeeded
    print(f"same-version race without conditions: {len(succeeded)} of {WORKERS} publishers were told they won")
    after = json.loads(s3_repo.cli("verify", "-b", s3_repo.url, "--json").stdout)
    assert {p["kind"] for p in after["problems"]} <= {"orphan-file"}
    assert all("/laxrace/files/" in p["key"] for p in after["problems"])
