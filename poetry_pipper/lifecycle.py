"""Maintenance writes: yank, unyank and delete, of a version's files (or, for delete, of one file).

Records are the truth; the package index, the root list and the PEP 503 pages are derived from
them. Each change is made to the records first (by compare-and-swap), then the derived documents
are brought in line by compare-and-swaps computed from fresh reads of the records, so the last
write always reflects the newest records (:mod:`.cas`). A file whose truth is a format 1 record
gets its own file record when it is yanked; format 1 records are never rewritten.

When a later step fails after a record was written, the error says what was written and that
``pipper reindex`` finishes the job: nothing is reported as failed that in fact took effect.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from packaging.utils import canonicalize_name

from .cas import Doc
from .errors import FormatError, NotFound, PipperError
from .index import DistFile, PackageIndex, Release, RootIndex
from .keys import index_key, record_key, releases_prefix
from .publish import discard
from .records import Records, read_records, record_refs
from .repository import Repository
from .schema import clean, rfc3339
from .specs import SpecError, parse_spec, parse_version

MAX_REASON = 500


def exact_version(text: str, command: str) -> tuple[str, str]:
    """``NAME:VERSION`` (or ``NAME==VERSION``) as (normalized name, normalized version)."""
    spec = parse_spec(text)
    if not spec.is_exact_pin():
        raise SpecError(f"{command} needs one exact version, as in `pipper {command} {spec.name}:1.2.3`; got {text!r}")
    (clause,) = list(spec.specifier)
    return spec.name, str(parse_version(clause.version))


def with_yank(reason: str | None, now: datetime.datetime | None = None) -> Callable[[DistFile], DistFile]:
    """Yank (``reason`` a string, maybe empty) or unyank (None) a file; the yank time is kept if already yanked."""
    when = rfc3339(now or datetime.datetime.now(datetime.UTC))

    def change(dist: DistFile) -> DistFile:
        if reason is None:
            return replace(dist, yanked=False, yanked_reason="", yanked_at="")
        return replace(dist, yanked=True, yanked_reason=reason, yanked_at=dist.yanked_at if dist.yanked else when)

    return change


def check_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        raise PipperError(f"the yank reason is {len(reason)} characters long; keep it under {MAX_REASON}")
    if not clean(reason):
        raise PipperError("the yank reason holds control characters; give plain text")
    return reason


def yank(repo: Repository, text: str, reason: str = "") -> tuple[Release, bool]:
    """Mark every file of a version yanked (PEP 592); True if any was not yanked with this reason already."""
    reason = check_reason(reason)
    name, version = exact_version(text, "yank")
    return update_files(repo, name, version, with_yank(reason), "yanked")


def unyank(repo: Repository, text: str) -> tuple[Release, bool]:
    name, version = exact_version(text, "unyank")
    return update_files(repo, name, version, with_yank(None), "unyanked")


def version_records(repo: Repository, name: str, version: str) -> Records:
    """The records of one version: one LIST, one GET per record."""
    refs = [ref for ref in record_refs(repo.storage, name, repo.storage.list(f"{releases_prefix(name)}{version}"))
            if ref.version == version]
    return read_records(repo.storage, name, refs)


@dataclass
class _Record:
    """A file record as a document of the compare-and-swap engine."""

    dist: DistFile

    def to_bytes(self) -> bytes:
        return self.dist.record_bytes()


def update_files(
    repo: Repository, name: str, version: str, change: Callable[[DistFile], DistFile], what: str
) -> tuple[Release, bool]:
    """Change every file record of a version by compare-and-swap, then bring the index in line.

    The index is synced even when no record changed, so re-running a yank repairs an index a
    crash left behind.
    """
    project, version = canonicalize_name(name), str(parse_version(version))
    index_blob = repo.storage.get(index_key(project))  # a corrupt or newer-format index refuses before any write
    if index_blob is not None:
        repo.index_doc(project).parse(index_blob.data)
    found = version_records(repo, project, version)
    if found.bad:  # never change a version whose records cannot all be read
        raise FormatError(next(iter(found.bad.values())))
    if not found.files:
        raise NotFound(f"{name} {version} is not published in {repo.location}: check `pipper info {name}`")
    changed = False
    for (_v, filename), dist in sorted(found.files.items()):
        key = record_key(project, version, filename)

        def mutate(record: _Record) -> bool:
            new = change(record.dist)
            if new == record.dist:
                return False
            record.dist = new
            return True

        doc = Doc(key, lambda data, k=key: _Record(DistFile.from_record(data, repo.location.key_url(k))),  # type: ignore[misc]
                  lambda dist=dist: _Record(dist))  # type: ignore[misc]
        changed |= repo.cas.update(doc, mutate).written
    label = f"{found.files[min(found.files)].name} {version}"
    index = _after_records(repo, f"{label} was {what} (its records were written)",
                           lambda: sync_version(repo, project, version))
    release = index.releases.get(version)
    if release is None:
        raise PipperError(f"{label} was {what}, but it is not in the index; run `pipper reindex`")
    return release, changed


def _after_records(repo: Repository, done: str, step: Callable[[], PackageIndex]) -> PackageIndex:
    """Run a step that follows a record write; a failure says what was already written."""
    try:
        return step()
    except PipperError as exc:
        raise PipperError(f"{done}, but updating {repo.location}'s index failed: {exc}; run `pipper reindex`"
                          " to finish") from None


def sync_version(repo: Repository, name: str, version: str) -> PackageIndex:
    """Make one version's index entry agree with its records: added, changed, or removed when none is left."""
    return sync_versions(repo, name, [version])


def sync_versions(repo: Repository, name: str, versions: Iterable[str], *, check_page: bool = False) -> PackageIndex:
    """Make some versions' index entries agree with their records, in one compare-and-swap.

    The records are read inside the compare-and-swap (one LIST, one GET per record of those
    versions), so the last index write always reflects the newest records. The index-only hints
    (``private_requires``, ``private_closure``) is kept. ``check_page``: rewrite the page if it differs even when the
    index is already right (what finishing an interrupted change needs).
    """
    project = canonicalize_name(name)
    wanted = sorted({str(parse_version(version)) for version in versions})
    prefix = releases_prefix(project) + (wanted[0] if len(wanted) == 1 else "")
    wanted_set = set(wanted)

    def mutate(index: PackageIndex) -> bool:
        refs = [ref for ref in record_refs(repo.storage, project, repo.storage.list(prefix)) if ref.version in wanted_set]
        found = read_records(repo.storage, project, refs).files
        changed = False
        for version in wanted:
            files = {dist.filename: dist for (v, _f), dist in sorted(found.items()) if v == version}
            changed |= _sync_entry(index, version, files)
        return changed

    return repo.cas.update(repo.index_doc(project), mutate, check_page=check_page).value


def _sync_entry(index: PackageIndex, version: str, files: dict[str, DistFile]) -> bool:
    current = index.releases.get(version)
    if not files:
        if current is None:
            return False
        del index.releases[version]
        return True
    hints = current.private_requires if current is not None else ()
    closure = current.private_closure if current is not None else ()
    release = Release.of(*files.values(), private_requires=hints, private_closure=closure)
    if current == release:
        return False
    display = index.display_name if index.releases else release.name
    index.releases[version] = release
    index.display_name = display  # yanking an old version does not rename the package
    return True


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


def _synced_root(repo: Repository, project: str, index: PackageIndex) -> PackageIndex:
    sync_root(repo, project)
    return index


def delete(repo: Repository, text: str, *, filename: str | None = None) -> list[DistFile]:
    """Remove a version (or one file of it) completely: records first (the commit point), then the
    index entry, the page and the root list, then the files. Returns the files removed.

    When the last version goes, the package leaves the root list; its index stays, empty, so that
    a concurrent or later publisher's compare-and-swap keeps working.
    """
    project, version = exact_version(text, "delete")
    found = version_records(repo, project, version)
    files = [d for d in found.files.values() if filename is None or d.filename == filename]
    if not files:
        index = repo.package_index(project, legacy=False)
        release = index.releases.get(version) if index is not None else None
        # No record: an index entry left without one (`pipper verify` reports it) is removed too.
        files = [d for d in (release.files.values() if release else ()) if filename is None or d.filename == filename]
    if not files:
        what = f"{filename} of {project} {version}" if filename else f"{project} {version}"
        raise NotFound(f"{what} is not published in {repo.location}: check `pipper info {project}`")
    gone = {d.filename for d in files}
    for (_v, name), keys in sorted(found.keys.items()):
        if name in gone:
            for key in keys:
                repo.storage.delete(key)
    if filename is None:
        for key in found.bad:  # unreadable records of the version go with it
            repo.storage.delete(key)
    label = f"{project} {version}" + (f" ({filename})" if filename else "")
    index = _after_records(repo, f"{label} was deleted (its records were removed)",
                           lambda: sync_version(repo, project, version))
    try:
        if not index.releases:
            _after_records(repo, f"{label} was deleted (its records and index entry were removed)",
                           lambda: _synced_root(repo, project, index))
    finally:
        for dist in files:  # unpublished already: its files go even when the root list could not be updated
            discard(repo, dist)
    return files
