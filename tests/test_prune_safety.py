"""`pipper prune` under concurrent publishers and interruption, against the moto server.

* a plan made from an older index: every change is re-checked from fresh reads first;
* publisher processes adding versions and files while prunes run;
* a prune killed (SIGKILL) right after each of its writes took effect, found by a proxy that sees every
  request: `verify` is clean at once (the marker covers the states between the steps), and the next
  prune finishes the job with the same end state as a prune that was never interrupted;
* Ctrl-C: exit 130, one line, and the same guarantees.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from poetry_pipper.index import PackageIndex
from poetry_pipper.keys import index_key
from poetry_pipper.lifecycle import yank
from poetry_pipper.prune import PruneReport, apply, prepare, prune
from poetry_pipper.publish import publish_file
from poetry_pipper.retention import DELETE, KEEP, Policy
from poetry_pipper.verify import verify

from .helpers import ROOT, Result, interruptible, make_sdist, make_wheel
from .prune_helpers import backdate, clean, publish, versions
from .servers import RepoUnderTest, S3Server
from .test_concurrency import WORKERS, publish_together

DAY = datetime.timedelta(days=1)


def test_a_version_that_changed_after_the_plan_is_left_alone(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    repo = s3_repo.open()
    publish(repo, tmp_path, "acme", ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0"])
    prepared = prepare(repo, ["acme"], Policy(keep=1))
    assert [str(d.version) for d in prepared.plan.by_action(DELETE)] == ["1.3.0", "1.2.0", "1.1.0", "1.0.0"]

    # Between the plan and its application:
    publish_file(repo, make_sdist(tmp_path / "late", "acme", "1.0.0"))  # a late file of a planned version
    publish_file(repo, make_wheel(tmp_path / "forced", "acme", "1.1.0", body="X = 1\n"), force=True)  # replaced
    publish(repo, tmp_path, "acme", ["3.0.0"])  # a version published during the prune
    stale_index = repo.storage.get(index_key("acme"))
    assert stale_index is not None
    publish_file(repo, make_wheel(tmp_path / "plat", "acme", "1.3.0", tags=["cp312-cp312-win_amd64"]))
    # ...its publisher stopped after the record, before the index: the record is there, the index lacks it
    repo.storage.put(index_key("acme"), stale_index.data, content_type="application/json")

    report = apply(repo, prepared)
    outcome = {str(d.version): d for d in report.plan.decisions}
    assert {v: d.action for v, d in outcome.items()} == {
        "2.0.0": KEEP, "1.3.0": KEEP, "1.2.0": DELETE, "1.1.0": KEEP, "1.0.0": KEEP}
    for version in ("1.0.0", "1.1.0", "1.3.0"):
        assert outcome[version].reasons[-1].startswith("kept: its files changed since the plan was read"), version
    after = s3_repo.open()
    assert versions(after, "acme") == ["1.0.0", "1.1.0", "1.3.0", "2.0.0", "3.0.0"]
    assert len(after.require_index("acme").releases["1.0.0"].files) == 2
    s3_repo.cli("reindex", "-b", s3_repo.url).assert_ok()  # the index the "stopped publisher" left behind
    assert len(s3_repo.open().require_index("acme").releases["1.3.0"].files) == 2
    assert clean(s3_repo.open()).pending == []


def test_publisher_processes_while_prunes_run(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    """New versions, and new files of versions being pruned, published by 8 processes while prunes run."""
    repo = s3_repo.open()
    old = [f"0.1.{n}" for n in range(10)]
    publish(repo, tmp_path, "crowd", old)
    backdate(repo, "crowd", 100)
    new = [f"1.0.{n}" for n in range(32)]
    files = [make_wheel(tmp_path / "new" / v, "crowd", v) for v in new]
    files += [make_sdist(tmp_path / "late" / v, "crowd", v) for v in old[:8]]
    policy = Policy(keep=3, older_than=30 * DAY)
    reports: list[PruneReport] = []

    def done() -> int:  # the workers write one line per file they published
        return sum(len(out.read_text().splitlines()) for out in tmp_path.glob("worker-*.jsonl"))

    def prune_meanwhile() -> None:  # prune after prune until every publisher is done
        while (not reports or done() < len(files)) and len(reports) < 200:
            reports.append(prune(s3_repo.open(), ["crowd"], policy))

    pruner = threading.Thread(target=prune_meanwhile)
    results = publish_together(s3_repo.url, s3_repo.env, [files[i::WORKERS] for i in range(WORKERS)], tmp_path,
                               [pruner])
    reports.append(prune(s3_repo.open(), ["crowd"], policy))  # once more, after every publisher is done
    rechecked = [d for r in reports for d in r.plan.decisions if d.reasons[-1].startswith("kept: ")]
    deleted = [d for r in reports for d in r.plan.by_action(DELETE)]
    print(f"{len(results)} files published by {WORKERS} processes during {len(reports) - 1} prunes; versions deleted:"
          f" {len(deleted)}; changes left alone after the re-check: {len(rechecked)}")
    for result in results:
        assert result["code"] == 0 and "Published crowd" in result["stdout"], result

    index = s3_repo.open().require_index("crowd")
    published = {Path(r["bundle"]).name for r in results}
    present = {f.filename for f in index.files()}
    assert published <= present  # nothing a publisher was told is published went missing
    assert {str(d.version) for d in deleted} <= set(old) - set(new)
    assert all(f.filename.endswith(".whl") for d in deleted for f in d.files)  # never a late sdist
    # In the end: every new version, every old version that got a new file, nothing else.
    assert set(index.releases) == set(new) | set(old[:8])
    assert clean(s3_repo.open()).pending == []


# -- a prune killed after each of its writes ----------------------------------------------------------


def _scenario(server: S3Server, tmp_path: Path, mode: str) -> RepoUnderTest:
    """A fresh bucket: for delete, alpha (4 versions, one with an sdist) and beta (its only version yanked);
    for yank, gamma (3 versions)."""
    repo_ut = RepoUnderTest(f"s3://{server.new_bucket()}/team", {"AWS_ENDPOINT_URL": server.endpoint}, server)
    repo = repo_ut.open()
    where = tmp_path / uuid.uuid4().hex[:8]
    if mode == "delete":
        publish(repo, where, "alpha", ["1.0.0", "1.1.0", "1.2.0", "2.0.0"], sdist=("1.0.0",))
        publish(repo, where, "beta", ["0.1.0"])
        yank(repo, "beta:0.1.0")
    else:
        publish(repo, where, "gamma", ["1.0.0", "1.1.0", "2.0.0"])
    return repo_ut


def _args(mode: str) -> list[str]:
    return ["--keep", "1"] + (["--yank"] if mode == "yank" else [])


def _policy(mode: str) -> Policy:
    return Policy(keep=1, yank=mode == "yank")


def _state(repo_ut: RepoUnderTest) -> tuple[set[str], dict[str, dict[str, bool]]]:
    """The keys under the root (records, files, indexes, pages; sha256 in the file keys) and each version's yank state."""
    repo = repo_ut.open()
    keys = set(repo.storage.list(""))
    yanks = {}
    for name in ("alpha", "beta", "gamma"):
        blob = repo.storage.get(index_key(name))
        if blob is not None:
            index = PackageIndex.from_bytes(blob.data, name)
            yanks[name] = {v: r.yanked for v, r in index.releases.items()}
    return keys, yanks


def _stopped(repo_ut: RepoUnderTest, fault_proxy, mode: str, stop_at: int, sig: int = signal.SIGKILL) -> tuple[Result, int]:  # type: ignore[no-untyped-def]
    """Run `pipper prune` through a proxy that sends ``sig`` to it once its write number ``stop_at`` took effect
    (0: never); returns its result and how many writes it made."""
    started = threading.Event()
    holder: dict[str, subprocess.Popen[str]] = {}
    writes = [0]

    def on_reply(method: str, path: str, status: int) -> None:
        if method in ("PUT", "DELETE", "POST") and status < 300:
            writes[0] += 1
            if writes[0] == stop_at:
                started.wait(30)
                holder["proc"].send_signal(sig)  # it waits for this reply: no request of it comes after

    proxy = fault_proxy(repo_ut.server.endpoint, on_reply=on_reply)  # type: ignore[union-attr]
    proc = subprocess.Popen(
        [sys.executable, "-m", "poetry_pipper", "--no-ansi", "prune", "-b", repo_ut.url, *_args(mode)],
        cwd=ROOT, env={**os.environ, "NO_COLOR": "1", "AWS_ENDPOINT_URL": proxy.url},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    holder["proc"] = proc
    started.set()
    stdout, stderr = proc.communicate(timeout=300)
    return Result(proc.returncode, stdout, stderr), writes[0]


@pytest.mark.parametrize("mode", ["delete", "yank"])
def test_a_prune_killed_after_any_write_leaves_verify_clean_and_the_next_prune_finishes(  # type: ignore[no-untyped-def]
        s3_server: S3Server, fault_proxy, tmp_path: Path, mode: str) -> None:
    reference = _scenario(s3_server, tmp_path, mode)
    result, total = _stopped(reference, fault_proxy, mode, stop_at=0)
    result.assert_ok()
    expected = _state(reference)
    print(f"{mode}: an uninterrupted prune makes {total} writes")
    # delete: alpha 17 (marker, 4 records, index, its HTML and JSON pages, 4 files and 4 sidecars, marker), beta
    # 11 (the same with 1 file, plus the root list and its 2 pages); yank: marker, 2 x (record, index, 2 pages), marker
    assert total == (28 if mode == "delete" else 10)

    for stop_at in range(1, total + 1):
        repo_ut = _scenario(s3_server, tmp_path, mode)
        result, _ = _stopped(repo_ut, fault_proxy, mode, stop_at)
        assert result.code == -signal.SIGKILL, result
        report = verify(repo_ut.open())  # at once, before anything else runs
        assert report.ok, (stop_at, [p.line() for p in report.problems])
        # a package's marker goes with its last write: alpha's is write 17, beta's write 28
        assert bool(report.pending) == (stop_at not in ((17, 28) if mode == "delete" else (10,))), stop_at
        finished = prune(repo_ut.open(), [], _policy(mode))
        assert clean(repo_ut.open()).pending == [], stop_at
        assert _state(repo_ut) == expected, stop_at
        if mode == "delete" and stop_at < total:
            assert finished.finished or finished.plan.by_action(DELETE), stop_at


def test_ctrl_c_during_a_prune(s3_server: S3Server, fault_proxy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reference = _scenario(s3_server, tmp_path, "delete")
    _stopped(reference, fault_proxy, "delete", stop_at=0)[0].assert_ok()
    repo_ut = _scenario(s3_server, tmp_path, "delete")
    result, writes = _stopped(repo_ut, fault_proxy, "delete", stop_at=3, sig=signal.SIGINT)
    assert result.code == 130, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: interrupted; the repository is consistent: run the same prune again to finish"], lines
    assert writes == 3
    assert clean(repo_ut.open()).pending
    repo_ut.cli("prune", "-b", repo_ut.url, *_args("delete")).assert_ok()
    assert clean(repo_ut.open()).pending == []
    assert _state(repo_ut) == _state(reference)
    assert versions(repo_ut.open(), "alpha") == ["2.0.0"] and versions(repo_ut.open(), "beta") == []


def test_prune_through_faults(s3_server: S3Server, fault_proxy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """5xx, lost replies (the write applied, botocore retries it), resets and cut bodies on a third of the requests."""
    reference = _scenario(s3_server, tmp_path, "delete")
    prune(reference.open(), [], _policy("delete"))
    for seed in range(3):
        repo_ut = _scenario(s3_server, tmp_path, "delete")
        proxy = fault_proxy(s3_server.endpoint, rate=0.3, seed=seed)
        result = repo_ut.cli("prune", "-b", repo_ut.url, *_args("delete"), env={"AWS_ENDPOINT_URL": proxy.url})
        print(f"seed {seed}: exit {result.code}; {proxy.summary()}")
        if result.code:
            result.assert_one_line_error()
        assert verify(repo_ut.open()).ok
        prune(repo_ut.open(), [], _policy("delete"))
        assert clean(repo_ut.open()).pending == []
        assert _state(repo_ut) == _state(reference)


def test_a_prune_that_fails_half_way_says_so_in_one_line(s3_server: S3Server, fault_proxy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every DELETE of a stored file fails (500, retried, then given up): records and index are done, files not."""
    reference = _scenario(s3_server, tmp_path, "delete")
    prune(reference.open(), [], _policy("delete"))
    repo_ut = _scenario(s3_server, tmp_path, "delete")
    proxy = fault_proxy(s3_server.endpoint, rate=1.0, kinds=("500",), only=lambda method, path: method == "DELETE"
                        and "/files/" in path)
    line = repo_ut.cli("prune", "-b", repo_ut.url, *_args("delete"),
                       env={"AWS_ENDPOINT_URL": proxy.url, "AWS_MAX_ATTEMPTS": "2"}).assert_one_line_error()
    print(line)
    assert line.startswith("error: pruning alpha stopped half-way: ")
    assert line.endswith("the repository is consistent (see `pipper verify`): run the same prune again to finish")
    assert versions(repo_ut.open(), "alpha") == ["2.0.0"]  # committed: readers no longer see the old versions
    assert clean(repo_ut.open()).pending
    repo_ut.cli("prune", "-b", repo_ut.url, *_args("delete")).assert_ok()
    assert clean(repo_ut.open()).pending == []
    assert _state(repo_ut) == _state(reference)
