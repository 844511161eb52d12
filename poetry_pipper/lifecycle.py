"""Maintenance writes: yank, unyank and delete.

Release records are the truth; the package index, the root list and the PEP 503 pages are
derived from them. Each change is made to the record first (by compare-and-swap), then the
derived documents are brought in line by compare-and-swaps computed from fresh reads of the
record, so the last write always reflects the newest record (:mod:`.cas`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from packaging.utils import canonicalize_name

from .cas import Doc
from .errors import NotFound, PipperError
from .index import PackageIndex, Release, RootIndex
from .keys import index_key, release_key
from .publish import discard
from .repository import Repository
from .specs import SpecError, parse_spec, parse_version

MAX_REASON = 500


def exact_version(text: str, command: str) -> tuple[str, str]:
    """``NAME:VERSION`` (or ``NAME==VERSION``) as (normalized name, normalized version)."""
    spec = parse_spec(text)
    if not spec.is_exact_pin():
        raise SpecError(f"{command} needs one exact version, as in `pipper {command} {spec.name}:1.2.3`; got {text!r}")
    (clause,) = list(spec.specifier)
    return spec.name, str(parse_version(clause.version))


def with_yank(reason: str | None) -> Callable[[Release], Release]:
    return lambda r: replace(r, yanked=reason is not None, yanked_reason=reason or "")


def yank(repo: Repository, text: str, reason: str = "") -> tuple[Release, bool]:
    """Mark a version yanked (PEP 592); True if it was not yanked with this reason already."""
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        raise PipperError(f"the yank reason is {len(reason)} characters long; keep it under {MAX_REASON}")
    name, version = exact_version(text, "yank")
    return update_release(repo, name, version, with_yank(reason))


def unyank(repo: Repository, text: str) -> tuple[Release, bool]:
    name, version = exact_version(text, "unyank")
    return update_release(repo, name, version, with_yank(None))


def delete(repo: Repository, text: str) -> Release:
    name, version = exact_version(text, "delete")
    return delete_release(repo, name, version)


@dataclass
class _Record:
    """A release record as a document of the compare-and-swap engine (absent: ``release`` None)."""

    release: Release | None

    def to_bytes(self) -> bytes:
        assert self.release is not None
        return self.release.record_bytes()


def update_release(repo: Repository, name: str, version: str, change: Callable[[Release], Release]) -> tuple[Release, bool]:
    """Change a release record (yank state) by compare-and-swap, then bring the index in line.

    Returns the release and whether the record changed. The index entry is synced even when
    the record did not change, so re-running a yank repairs an index a crash left behind.
    """
    project, version = canonicalize_name(name), str(parse_version(version))
    key = release_key(project, version)
    index_blob = repo.storage.get(index_key(project))  # a corrupt or newer-format index refuses before any write
    if index_blob is not None:
        repo.index_doc(project).parse(index_blob.data)
    old: list[Release] = []

    def mutate(record: _Record) -> bool:
        if record.release is None:
            raise NotFound(f"{name} {version} is not published in {repo.location}: check `pipper info {name}`")
        old[:] = [record.release]
        new = change(record.release)
        record.release = new
        return new != old[0]

    doc = Doc(key, lambda data: _Record(Release.from_record(data, repo.location.key_url(key))), lambda: _Record(None))
    new = repo.cas.update(doc, mutate).value.release
    assert new is not None
    sync_entry(repo, project, version)
    return new, new != old[0]


def sync_entry(repo: Repository, name: str, version: str) -> PackageIndex:
    """Make one index entry agree with its release record: added, replaced, or removed if the record is gone.

    The record is read inside the compare-and-swap, so the last index write always
    reflects the newest record. Index-only hints (``private_requires``) are kept.
    """
    project, version = canonicalize_name(name), str(parse_version(version))
    rkey = release_key(project, version)

    def mutate(index: PackageIndex) -> bool:
        blob = repo.storage.get(rkey)
        if blob is None:
            if version not in index.releases:
                return False
            del index.releases[version]
            return True
        record = Release.from_record(blob.data, repo.location.key_url(rkey))
        current = index.releases.get(version)
        if current is not None:
            hints = tuple(sorted({*current.private_requires, *record.private_requires}))
            record = replace(record, private_requires=hints)
        display = index.display_name if index.releases else record.meta.name
        changed = index.add(record)
        index.display_name = display  # yanking an old version does not rename the package
        return changed

    return repo.cas.update(repo.index_doc(project), mutate).value


def sync_root(repo: Repository, name: str) -> None:
    """List a package in the root list if its index has releases, drop it if not.

    The package index is read inside the compare-and-swap: a publisher that adds a first
    version concurrently registers after its index write, so it is never dropped.
    """
    project = canonicalize_name(name)
    parse_index = repo.index_doc(project).parse

    def mutate(root: RootIndex) -> bool:
        blob = repo.storage.get(index_key(project))
        index = parse_index(blob.data) if blob else None
        if index is None or not index.releases:
            return root.packages.pop(project, None) is not None
        if root.packages.get(project) == index.display_name:
            return False
        root.packages[project] = index.display_name
        return True

    repo.cas.update(repo.root_doc(), mutate)


def delete_release(repo: Repository, name: str, version: str) -> Release:
    """Remove a version completely: record (the commit point), index entry, simple page, files.

    When it was the last version, the package leaves the root list; its index stays, empty,
    so that a concurrent or later publisher's compare-and-swap keeps working.
    """
    project, version = canonicalize_name(name), str(parse_version(version))
    rkey = release_key(project, version)
    blob = repo.storage.get(rkey)
    if blob is not None:
        release = Release.from_record(blob.data, repo.location.key_url(rkey))
        repo.storage.delete(rkey)
    else:
        # No record: an index entry left without one (`pipper verify` reports it) is removed too.
        index = repo.package_index(project, legacy=False)
        entry = index.releases.get(version) if index is not None else None
        if entry is None:
            raise NotFound(f"{name} {version} is not published in {repo.location}: check `pipper info {name}`")
        release = entry
    index = sync_entry(repo, project, version)
    if not index.releases:
        sync_root(repo, project)
    discard(repo, release)
    return release
