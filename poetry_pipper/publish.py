"""Publishing: a short protocol per file, whose commit point is the creation of the file's record.

1. upload the file and its PEP 658 sidecar under ``files/<sha256>/`` (content-addressed, so a
   loser of a race never overwrites the winner's bytes);
2. create ``releases/<version>/<filename>.json`` with ``If-None-Match: *``: exactly one publisher
   of a file wins, the others are told it is already published. Different files of one version
   (wheels built by separate CI jobs, the sdist) are different records: all of them win;
3. merge the file into ``packages/<name>/index.json`` by compare-and-swap (:mod:`.cas`),
   retrying on conflict. Every merge also adds any record the index lacks, so a publisher that
   died after step 2, or a server that ignored a condition, is healed by the next publish (and
   always by ``reindex``);
4. rewrite the derived PEP 503 page from the index that is current afterwards; the first release
   of a package also registers it in the root list and in the hints of packages depending on it.

Readers only ever read the index, so nothing half-published is visible. Every file is checked
before anything is written: a wheel whose name, version or tags disagree with its metadata, a
broken sdist or bundle, or a direct URL dependency is refused with the bucket untouched.
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .cas import UNREAD, Outcome, Unread
from .closure import closure_of, reach, spread, with_closures
from .dependencies import dependency_names, private_requires
from .errors import AlreadyPublished, PipperError, PreconditionFailed, StorageError
from .index import DistFile, PackageIndex, RootIndex
from .keys import FILE_CACHE, JSON_TYPE, index_key, record_key
from .legacy import legacy_names
from .records import read_records, record_refs
from .repository import Repository
from .schema import rfc3339
from .storage.base import Blob, Progress
from .uploads import Upload, read_upload


@dataclass(frozen=True)
class PublishResult:
    dist: DistFile
    status: str  # "published", "already published" or "replaced"
    url: str


def _now() -> str:
    return rfc3339(datetime.datetime.now(datetime.UTC))


def publish_paths(
    repo: Repository,
    paths: list[Path],
    *,
    force: bool = False,
    progress: Callable[[Upload], Progress | None] | None = None,
) -> list[PublishResult]:
    """Check every file first (nothing is written if one is refused), then publish them in turn."""
    with tempfile.TemporaryDirectory(prefix="pipper-publish-") as tmp:
        uploads = []
        for number, path in enumerate(paths):
            workdir = Path(tmp, str(number))
            workdir.mkdir()
            uploads.append(read_upload(path, workdir))
        results: list[PublishResult] = []
        for upload in uploads:
            try:
                results.append(publish_upload(repo, upload, force=force, progress=progress(upload) if progress else None))
            except PipperError as exc:
                if not results:
                    raise
                done = ", ".join(f"{r.dist.filename} ({r.status})" for r in results)
                raise PipperError(f"{exc} [before this failure: {done}]") from None
        return results


def publish_file(repo: Repository, path: Path, *, force: bool = False, progress: Progress | None = None) -> PublishResult:
    """Publish one ``.whl``, sdist or ``.pipper`` bundle."""
    (result,) = publish_paths(repo, [path], force=force, progress=lambda _upload: progress)
    return result


def publish_upload(repo: Repository, upload: Upload, *, force: bool = False, progress: Progress | None = None) -> PublishResult:
    dist = upload.dist
    name, version, filename = dist.project, dist.version, dist.filename
    key = record_key(name, version, filename)
    url = repo.storage.url_for(dist.key)
    existing_blob = repo.storage.get(key)
    existing = DistFile.from_record(existing_blob.data, repo.location.key_url(key)) if existing_blob else None
    # Read (and check) the index before writing anything: a corrupt or newer-format index
    # refuses the publish with the bucket untouched. The merge below starts from this read.
    index_blob = repo.storage.get(index_key(name))
    index = repo.index_doc(name).parse(index_blob.data) if index_blob is not None else None
    if existing is None and index is not None:
        release = index.releases.get(version)
        existing = release.files.get(filename) if release else None  # e.g. from a format 1 record
    if existing is not None and existing.sha256 == dist.sha256:
        # Same content: finish whatever an earlier publisher may have left undone.
        if index is None or index.get(version) is None or filename not in index.releases[version].files:
            _after_record(repo, existing, "is already published", lambda: commit_index(repo, existing))
        else:
            assert index_blob is not None
            _after_record(repo, existing, "is already published", lambda: finish(repo, index, index_blob.etag))
        return PublishResult(existing, "already published", url)
    if existing is not None and not force:
        raise _conflict(existing, dist)

    dist = replace(dist, upload_time=_now())
    repo.storage.upload(dist.key, upload.path, size=dist.size, progress=progress, cache_control=FILE_CACHE)
    if upload.metadata is not None:
        repo.storage.put(dist.metadata_key, upload.metadata, content_type="text/plain", cache_control=FILE_CACHE)
    try:
        _create_record(repo, dist, existing_blob)
    except PreconditionFailed:
        return _after_lost_race(repo, dist, url)
    what = "was published" if existing is None else "replaced the file published before"
    _after_record(repo, dist, what, lambda: commit_index(repo, dist, first=index_blob))
    if existing is not None:
        discard(repo, existing)
        return PublishResult(dist, "replaced", url)
    return PublishResult(dist, "published", url)


def _after_record(repo: Repository, dist: DistFile, what: str, step: Callable[[], object]) -> None:
    """A step after the commit point (the record is written): a failure says the file is published."""
    try:
        step()
    except PipperError as exc:
        raise PipperError(
            f"{dist.filename} {what} (its record was written), but updating {repo.location}'s index, pages or root"
            f" list failed: {exc}; run `pipper reindex` to finish"
        ) from None


def _create_record(repo: Repository, dist: DistFile, existing: Blob | None) -> None:
    """The commit point; then a check that a server which ignores conditions did not let another win."""
    key = record_key(dist.project, dist.version, dist.filename)
    if existing is None:
        repo.storage.put(key, dist.record_bytes(), content_type=JSON_TYPE, if_none_match=True)
    else:
        repo.storage.put(key, dist.record_bytes(), content_type=JSON_TYPE, if_match=existing.etag)
    stored = repo.storage.get(key)
    if stored is None or DistFile.from_record(stored.data, key).sha256 != dist.sha256:
        raise AlreadyPublished(
            f"{dist.filename} was published concurrently by someone else: the server ignored the"
            " conditional write; check with `pipper info` and `pipper verify`"
        )


def _after_lost_race(repo: Repository, dist: DistFile, url: str) -> PublishResult:
    """Someone else's record is there: ours if our own write was applied, else theirs."""
    key = record_key(dist.project, dist.version, dist.filename)
    winner_blob = repo.storage.get(key)
    winner = DistFile.from_record(winner_blob.data, key) if winner_blob else None
    if winner is not None and winner.sha256 == dist.sha256:
        _after_record(repo, winner, "is published", lambda: commit_index(repo, winner))
        # Our own write, applied but its reply lost and retried, also lands here.
        ours = winner_blob is not None and winner_blob.data == dist.record_bytes()
        return PublishResult(winner, "published" if ours else "already published", url)
    discard(repo, dist)
    if winner is None:
        raise StorageError(f"{dist.filename} changed while publishing; run the command again")
    raise _conflict(winner, dist)


def _conflict(existing: DistFile, dist: DistFile) -> AlreadyPublished:
    return AlreadyPublished(
        f"{dist.filename} ({dist.name} {dist.version}) is already published with different content (sha256"
        f" {existing.sha256[:12]}..., yours {dist.sha256[:12]}...): bump the version, or pass"
        " -f/--force to replace it"
    )


def discard(repo: Repository, dist: DistFile) -> None:
    """Delete a file and its sidecar; an orphan under files/<sha256>/ is harmless (`pipper verify` lists it)."""
    for key in (dist.metadata_key, dist.key):
        try:
            repo.storage.delete(key)
        except StorageError:
            pass


def commit_index(repo: Repository, dist: DistFile, *, first: Blob | Unread | None = UNREAD) -> PackageIndex:
    """Merge a committed file (and any record the index lacks) into its package's index, then make
    sure the package is listed (what an earlier publisher that died may have left undone)."""
    name = dist.project
    roots: list[RootIndex] = []
    dependencies: dict[str, PackageIndex | None] = {}  # read once, also on a retry: they only feed the closure
    grown: list[set[str]] = [set()]

    def merge(index: PackageIndex) -> bool:
        before = reach(index)
        changed = index.add_file(dist)
        changed = heal(repo, index) or changed
        if not roots:  # read once, also on a retry: it only feeds the hints
            roots.append(repo.packages())
        changed = _hint(index, dist.version, [*roots[0].packages, name]) or changed
        changed = _close(repo, index, dist.version, dependencies) or changed
        grown[0] = reach(index) - before
        return changed

    outcome = repo.cas.update(repo.index_doc(name), merge, first=first)
    if not _listed(repo, name, outcome.value, roots[0]) and grown[0] and name in roots[0].packages:
        extend_closures(repo, name, grown[0], roots[0])  # it now leads further: so do its dependents
    return outcome.value


def finish(repo: Repository, index: PackageIndex, etag: str) -> None:
    """For a file already published: the pages and the listing an earlier publisher may not have written.

    Three GETs (the package's page, the root list, its page), and a write only for what is missing.
    """
    repo.cas.refresh_pages(repo.index_doc(index.name), Outcome(index, etag, False), only_if_changed=True)
    root_doc = repo.root_doc()
    blob = repo.storage.get(root_doc.key)
    root = root_doc.parse(blob.data) if blob is not None else RootIndex()
    if blob is not None and index.name in root.packages:
        repo.cas.refresh_pages(root_doc, Outcome(root, blob.etag, False), only_if_changed=True)
    _listed(repo, index.name, index, root)


def _listed(repo: Repository, name: str, index: PackageIndex, root: RootIndex) -> bool:
    """List a package that has releases in the root list, after adding it to its dependents' hints
    (and closures); True if it was not listed before.

    In that order: a package in the root list has had its dependents marked, so a publisher that
    died between the two leaves the package unlisted, and the next publish of it does both again.
    """
    if name in root.packages or not index.releases:
        return False
    mark_private_dependents(repo, name, root, index)
    register(repo, name, index.display_name)
    return True


def _hint(index: PackageIndex, version: str, known: list[str]) -> bool:
    """Record which dependencies of this release are private (published here)."""
    release = index.releases[version]
    hints = tuple(sorted({*release.private_requires, *private_requires(release.files.values(), known)}))
    if hints == release.private_requires:
        return False
    index.releases[version] = replace(release, private_requires=hints)
    return True


def heal(repo: Repository, index: PackageIndex) -> bool:
    """Add the files whose records the index lacks (left by a crash, or a non-conditional server)."""
    missing = [ref for ref in record_refs(repo.storage, index.name)
               if ref.version not in index.releases
               or (ref.filename is not None and ref.filename not in index.releases[ref.version].files)]
    if not missing:
        return False
    changed = False
    for dist in read_records(repo.storage, index.name, missing).files.values():
        if repo.storage.exists(dist.key):  # a record without its file is `pipper verify`'s to report
            changed |= index.add_file(dist)
    return changed


def register(repo: Repository, name: str, display_name: str) -> RootIndex:
    """List a package in the root list (and its page).

    A root list being created also lists the pipper 0.x packages beside the layout (a bucket's
    first publish in this format), so resolvers guard those names too; ``reindex`` refreshes them.
    """

    def add(root: RootIndex) -> bool:
        if root.packages.get(name) == display_name:
            return False
        if not root.packages and not root.legacy:
            root.legacy = legacy_names(repo.storage)
        root.packages[name] = display_name
        return True

    return repo.cas.update(repo.root_doc(), add).value


def _close(repo: Repository, index: PackageIndex, version: str, dependencies: dict[str, PackageIndex | None]) -> bool:
    """Record the closure of one release (closure.py) from its dependencies' indexes: one GET per
    direct private dependency, in parallel. Names already recorded stay."""
    release = index.releases[version]
    todo = [h for h in release.private_requires if h not in dependencies and h != index.name]
    for hint, blob in repo.index_blobs(todo).items():
        dependencies[hint] = repo.readable_index(hint, blob)
    computed = closure_of(index.name, release.private_requires, lambda h: reach(dependencies.get(h)))
    return with_closures(index, {version: computed}, extend=True)


def mark_private_dependents(repo: Repository, name: str, root: RootIndex, index: PackageIndex) -> None:
    """A new package may already be a dependency of published ones: add it to their hints, and it
    (with all it reaches) to the closure of every release that leads to it.

    One GET per package in the repository, only when a package is published for the first time,
    so that resolvers never have to probe for private names.
    """
    extend_closures(repo, name, {name} | reach(index), root, new=True)


def extend_closures(repo: Repository, name: str, added: set[str], root: RootIndex, *, new: bool = False) -> None:
    """Add ``added`` to the closures of the releases that lead to ``name`` (closure.spread); for a
    ``new`` package, first add it to the hints of the releases that depend on it.

    Reads every other package's index once (in parallel), then writes, by compare-and-swap, only
    the indexes that change.
    """
    blobs = repo.index_blobs(other for other in root.packages if other != name)
    indexes = {other: index for other, blob in blobs.items() if (index := repo.readable_index(other, blob)) is not None}
    hinted = {other for other, index in indexes.items() if new and _mark(index, name)}
    updates = spread(indexes, name, added)
    for other in sorted(hinted | updates.keys()):

        def mutate(index: PackageIndex, other: str = other) -> bool:
            changed = _mark(index, name) if new else False
            return with_closures(index, updates.get(other, {}), extend=True) or changed

        repo.cas.update(replace(repo.index_doc(other), pages=()), mutate, first=blobs[other])


def _mark(index: PackageIndex, name: str) -> bool:
    """Add ``name`` to the hints of the releases that depend on it; True if any did."""
    changed = False
    for version, release in list(index.releases.items()):
        if name not in release.private_requires and any(name in dependency_names(f) for f in release.files.values()):
            index.releases[version] = replace(release, private_requires=tuple(sorted({*release.private_requires, name})))
            changed = True
    return changed
