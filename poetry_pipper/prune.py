"""``pipper prune``: the retention planner (:mod:`.retention`) applied to a repository, safely.

Reading: the root list when no name is given (one GET), each package index (one GET each) and the
markers of unfinished prunes (one LIST of ``pending/``, :mod:`.pending`). The planner's input per version
is what the index holds: its files with sha256 and size, the upload time of its newest file, its yank
state and yank time. ``--dry-run`` stops there.

Applying, package by package (the plan was made from reads that may be minutes old by then):

1. fresh reads: the package index, one LIST of its records, the records of the versions to change;
2. re-check: the planner runs again on the fresh index, and a version is changed only if it gets the same
   action again and both its records and its index entry still hold exactly the planned files. A version
   that gained a file (published during the prune), lost one, was replaced or yanked meanwhile is kept and
   reported; the next run decides again;
3. the marker ``pending/<name>.json`` lists every change about to be made;
4. deletions: the records first (the commit point: publishing's self-healing cannot bring the version
   back once they are gone), then the index entries in one compare-and-swap computed from records read
   inside it, the page, the root list if no version is left, then the files and their metadata sidecars
   (a file that a record names again meanwhile stays). Yanks: :func:`.lifecycle.update_files`;
5. the marker is deleted.

A kill at any point leaves the repository consistent: readers see a version completely or not at all,
and ``verify`` accepts the states the marker covers. The next prune of that package first finishes the
deletions that were committed (a listed record is gone), then goes on with its own plan.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from .errors import CredentialsError, FormatError, NotFound, PipperError
from .index import PackageIndex
from .keys import JSON_TYPE, file_key, index_key, parse_record_key, pending_key
from .lifecycle import check_reason, sync_root, sync_versions, update_files, with_yank
from .locks import Protection
from .pending import DELETE, YANK, PendingChanges, PendingVersion, read_pending
from .records import Records, read_records, record_refs
from .repository import Repository
from .retention import KEEP, Decision, FileInfo, PackageVersions, Plan, Policy, VersionInfo, format_age, plan
from .schema import parse_time, rfc3339

WORKERS = 8


def versions_of(index: PackageIndex, now: datetime.datetime) -> PackageVersions:
    """The planner's view of a package index: per version its files, newest upload time and yank state.

    An unknown upload time counts as ``now`` (never old); a yanked version whose files lack a yank time
    has an unknown yank time (its grace period cannot be told).
    """
    infos = []
    for version, release in index.releases.items():
        dists = release.ordered()
        uploaded = [when for d in dists if (when := parse_time(d.upload_time)) is not None]
        yank_times = [when for d in dists if (when := parse_time(d.yanked_at)) is not None]
        yanked_at = max(yank_times) if release.yanked and len(yank_times) == len(dists) else None
        infos.append(VersionInfo(Version(version), tuple(FileInfo(d.filename, d.sha256, d.size) for d in dists),
                                 max(uploaded, default=now), release.yanked, yanked_at))
    return PackageVersions(index.display_name, tuple(infos))


@dataclass
class Prepared:
    """What a prune read and planned: the plan, the indexes it came from, the unfinished prunes found."""

    plan: Plan
    names: list[str]
    indexes: dict[str, PackageIndex]
    pending: dict[str, tuple[PendingChanges, str]]
    protection: Protection
    warnings: list[str] = field(default_factory=list)


@dataclass
class PruneReport:
    location: str
    plan: Plan
    dry_run: bool
    #: deletions an interrupted prune had committed, finished by this run
    finished: list[str] = field(default_factory=list)
    #: unfinished prunes this run did not finish (a dry run, or packages not selected)
    pending: list[PendingChanges] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"location": self.location, "dry_run": self.dry_run, **self.plan.to_json(),
                "finished": self.finished, "pending": [p.to_json() for p in self.pending],
                "warnings": self.warnings}


def prepare(repo: Repository, names: Iterable[str], policy: Policy, protection: Protection | None = None,
            *, now: datetime.datetime | None = None) -> Prepared:
    """Read the indexes (every package of the root list when ``names`` is empty) and plan; read-only."""
    now = now or datetime.datetime.now(datetime.UTC)
    protection = protection or Protection()
    wanted: list[str] = list(dict.fromkeys(canonicalize_name(name) for name in names))
    pending, bad = read_pending(repo.storage)
    for key, why in sorted(bad.items()):
        if not wanted or key in {pending_key(name) for name in wanted}:
            raise FormatError(why)
    # every package of the root list, and those an interrupted prune may have emptied
    selected = wanted or sorted(set(repo.packages().packages) | set(pending))
    with ThreadPoolExecutor(min(WORKERS, max(len(selected), 1))) as pool:
        blobs = list(pool.map(lambda name: repo.storage.get(index_key(name)), selected))
    indexes: dict[str, PackageIndex] = {}
    for name, blob in zip(selected, blobs, strict=True):
        index = repo.index_doc(name).parse(blob.data) if blob is not None else None
        if (index is None or not index.releases) and wanted and name not in pending:
            raise NotFound(f"{name} is not published in {repo.location}: check the name with `pipper info {name}`")
        indexes[name] = index or PackageIndex.empty(name)
    packages = [versions_of(index, now) for index in indexes.values() if index.releases]
    warnings = list(protection.warnings)
    if wanted:
        warnings += [f"an unfinished prune of {name} was left (pending/{name}.json): prune it to finish"
                     for name in sorted(pending.keys() - set(wanted))]
    return Prepared(plan(packages, policy, now=now, protection=protection), selected, indexes,
                    {name: pending[name] for name in selected if name in pending}, protection, warnings)


def apply(repo: Repository, prepared: Prepared, *, reason: str | None = None) -> PruneReport:
    """Carry out a plan, package by package, each change re-checked from fresh reads first."""
    policy = prepared.plan.policy
    reason = check_reason(reason if reason is not None else yank_reason(policy))
    by_package: dict[str, list[Decision]] = {}
    for decision in prepared.plan.decisions:
        by_package.setdefault(canonicalize_name(decision.name), []).append(decision)
    outcome: dict[tuple[str, str], Decision] = {}
    finished: list[str] = []
    for name in prepared.names:
        planned = [d for d in by_package.get(name, []) if d.action != KEEP]
        if not planned and name not in prepared.pending:
            continue
        run = _PackageRun(repo, name, planned, prepared.pending.get(name), prepared, reason)
        for decision in run.run():
            outcome[(name, str(decision.version))] = decision
        finished += run.finished
    decisions = tuple(outcome.get((canonicalize_name(d.name), str(d.version)), d) for d in prepared.plan.decisions)
    return PruneReport(str(repo.location), replace(prepared.plan, decisions=decisions), False, finished,
                       [], prepared.warnings)


def prune(repo: Repository, names: Iterable[str], policy: Policy, protection: Protection | None = None, *,
          dry_run: bool = False, now: datetime.datetime | None = None) -> PruneReport:
    """Plan, and unless ``dry_run``, apply."""
    prepared = prepare(repo, names, policy, protection, now=now)
    if dry_run:
        return PruneReport(str(repo.location), prepared.plan, True, [],
                           [changes for changes, _etag in prepared.pending.values()], prepared.warnings)
    return apply(repo, prepared)


def yank_reason(policy: Policy) -> str:
    """What pip and Poetry show for a version prune yanked: the rules, and when it goes."""
    rules = ([f"keep {policy.keep}"] if policy.keep is not None else []) + \
        ([f"older than {format_age(policy.older_than)}"] if policy.older_than is not None else [])
    later = f", deleted {format_age(policy.older_than)} later unless pinned" if policy.older_than is not None else ""
    return f"retention ({', '.join(rules)}): yanked by pipper prune{later}"


def _files(files: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    return frozenset(files)


class _PackageRun:
    """One package's part of a prune: fresh reads, re-check, marker, writes, marker gone."""

    def __init__(self, repo: Repository, name: str, planned: list[Decision],
                 marker: tuple[PendingChanges, str] | None, prepared: Prepared, reason: str) -> None:
        self.repo, self.storage, self.name = repo, repo.storage, name
        self.planned = planned
        self.marker = marker[0] if marker else None
        self.prepared = prepared
        self.reason = reason
        self.finished: list[str] = []
        self.index = PackageIndex.empty(name)
        self.records = Records()

    def run(self) -> list[Decision]:
        """The planned decisions as carried out: a version that changed since the plan is kept, with why."""
        self.read_fresh()
        resumed = self.resumed()
        confirmed, decisions = self.confirm(resumed)
        work = PendingChanges(self.name, rfc3339(datetime.datetime.now(datetime.UTC)), {
            **resumed, **{str(d.version): PendingVersion(d.action, {f.filename: f.sha256 for f in d.files})
                          for d in confirmed}})
        if not work.versions:
            if self.marker is not None:  # only changes that were never committed: nothing to finish
                self.first_write(lambda: self.storage.delete(work.key))
            return decisions
        self.first_write(lambda: self.storage.put(work.key, work.to_bytes(), content_type=JSON_TYPE))
        try:
            self.change(work, confirmed, resumed)
        except PipperError as exc:
            raise type(exc)(f"pruning {self.name} stopped half-way: {exc}; the repository is consistent (see "
                            "`pipper verify`): run the same prune again to finish") from None
        return decisions

    def change(self, work: PendingChanges, confirmed: list[Decision], resumed: dict[str, PendingVersion]) -> None:
        """Everything after the marker: records, yanks, index and page, root list, files; the marker last."""
        self.delete_records(work)
        for decision in confirmed:
            if decision.action == YANK:
                update_files(self.repo, self.name, str(decision.version), with_yank(self.reason), "yanked")
        synced = [v for v, entry in work.versions.items() if entry.action == DELETE or v in resumed]
        index = sync_versions(self.repo, self.name, synced, check_page=self.marker is not None) if synced else None
        if index is not None and not index.releases:
            sync_root(self.repo, self.name)
        if self.marker is not None and self.marker.deletes:  # the root page may be one step behind
            self.repo.cas.update(self.repo.root_doc(), lambda _root: False, check_page=True)
        self.discard(work, index)
        self.storage.delete(work.key)

    def first_write(self, write: Any) -> None:
        """The marker write comes before any other: a denial there means nothing was changed."""
        try:
            write()
        except CredentialsError as exc:
            raise CredentialsError(f"cannot prune {self.repo.location}: {exc}; nothing was changed (prune needs "
                                   "s3:PutObject and s3:DeleteObject, see docs/iam.md)") from None

    def read_fresh(self) -> None:
        blob = self.storage.get(index_key(self.name))
        if blob is not None:
            self.index = self.repo.index_doc(self.name).parse(blob.data)
        versions = {str(d.version) for d in self.planned} | set(self.marker.versions if self.marker else ())
        refs = [ref for ref in record_refs(self.storage, self.name) if ref.version in versions]
        self.records = read_records(self.storage, self.name, refs)

    def recorded(self, version: str) -> frozenset[tuple[str, str]]:
        return _files((f, d.sha256) for (v, f), d in self.records.files.items() if v == version)

    def resumed(self) -> dict[str, PendingVersion]:
        """The marker's changes to finish: committed deletions (a listed record is gone) and every yank."""
        if self.marker is None:
            return {}
        found = {}
        for version, entry in sorted(self.marker.versions.items()):
            recorded = self.recorded(version)
            if entry.action == YANK or any(file not in recorded for file in entry.files.items()):
                found[version] = entry
                if entry.action == DELETE:
                    self.finished.append(f"{self.name} {version}: finished the deletion an interrupted prune began"
                                         f" (started {self.marker.started or 'at an unknown time'})")
        return found

    def confirm(self, resumed: dict[str, PendingVersion]) -> tuple[list[Decision], list[Decision]]:
        """The planned changes that the fresh index and records still support, and every decision as it ends."""
        prepared = self.prepared
        fresh = {str(d.version): d for d in plan([versions_of(self.index, prepared.plan.now)], prepared.plan.policy,
                                                now=prepared.plan.now, protection=prepared.protection).decisions}
        confirmed, decisions = [], []
        for decision in self.planned:
            version = str(decision.version)
            if version in resumed and resumed[version].action == DELETE:
                decisions.append(decision)  # already being deleted: finished below
                continue
            why = self.changed(decision, fresh.get(version))
            if why:
                decisions.append(replace(decision, action=KEEP, reasons=(*decision.reasons, f"kept: {why}")))
            else:
                confirmed.append(decision)
                decisions.append(decision)
        return confirmed, decisions

    def changed(self, decision: Decision, fresh: Decision | None) -> str | None:
        """Why a planned change no longer holds, or None."""
        version = str(decision.version)
        planned = _files((f.filename, f.sha256) for f in decision.files)
        release = self.index.releases.get(version)
        if fresh is None or release is None:
            return "no longer in the index (removed meanwhile)"
        if fresh.action != decision.action:
            return f"a fresh read says {fresh.action} ({'; '.join(fresh.reasons)}); left for the next run"
        indexed = _files((d.filename, d.sha256) for d in release.files.values())
        if self.recorded(version) != planned or indexed != planned:
            return "its files changed since the plan was read (published or replaced during the prune); " \
                "left for the next run"
        if any(ref_version == version for ref_version in self._bad_versions()):
            return "some of its records are unreadable; see `pipper verify`"
        return None

    def _bad_versions(self) -> set[str]:
        return {parsed[0] for key in self.records.bad if (parsed := parse_record_key(key, self.name))}

    def delete_records(self, work: PendingChanges) -> None:
        """The commit point of each deletion: the records of the listed files, if they still hold the listed sha256."""
        for version, entry in sorted(work.versions.items()):
            if entry.action != DELETE:
                continue
            for filename, sha256 in sorted(entry.files.items()):
                dist = self.records.files.get((version, filename))
                if dist is not None and dist.sha256 == sha256:
                    for key in self.records.keys.get((version, filename), []):
                        self.storage.delete(key)

    def discard(self, work: PendingChanges, index: PackageIndex | None) -> None:
        """The deleted files and their sidecars, unless the fresh index names one again (published anew)."""
        for version, entry in sorted(work.versions.items()):
            if entry.action != DELETE:
                continue
            release = index.releases.get(version) if index is not None else None
            for filename, sha256 in sorted(entry.files.items()):
                current = release.files.get(filename) if release is not None else None
                if current is not None and current.sha256 == sha256:
                    continue
                key = file_key(self.name, sha256, filename)
                self.storage.delete(key + ".metadata")
                self.storage.delete(key)
