"""Publishing: a short protocol whose commit point is the creation of the release record.

1. upload the wheel and its PEP 658 sidecar under ``files/<sha256>/`` (content-addressed,
   so a loser of a race never overwrites the winner's bytes);
2. create ``releases/<version>.json`` with ``If-None-Match: *``: exactly one publisher
   of a version wins, the others are told it is already published;
3. merge the release into ``packages/<name>/index.json`` by compare-and-swap (:mod:`.cas`),
   retrying on conflict. Every merge also adds any release record the index lacks, so a
   publisher that died after step 2, or a server that ignored a condition, is healed by the
   next publish (and always by ``reindex``);
4. rewrite the derived PEP 503 pages from the index that is current afterwards.

Readers only ever read the index, so nothing half-published is visible.

A ``.whl`` is read and hashed once; a ``.pipper`` bundle goes through its reader, which verifies
the wheel's sha256 while extracting it, and that verified hash is reused.
"""

from __future__ import annotations

import datetime
import hashlib
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from .bundle import BundleMeta, WheelInfo, inspect_wheel, meta_for, read_bundle
from .cas import UNREAD, Unread
from .dependencies import dependency_names, private_requires
from .errors import AlreadyPublished, PreconditionFailed, StorageError
from .index import PackageIndex, Release, RootIndex
from .keys import JSON_TYPE, file_key, index_key, release_key, releases_prefix
from .repository import Repository
from .storage.base import Blob, Progress


@dataclass(frozen=True)
class PublishResult:
    release: Release
    status: str  # "published", "already published" or "replaced"
    url: str


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def publish_file(repo: Repository, path: Path, *, force: bool = False, progress: Progress | None = None) -> PublishResult:
    """Publish a ``.whl`` or a ``.pipper`` bundle."""
    if path.suffix == ".whl":
        return publish_wheel(repo, inspect_wheel(path), [], force=force, progress=progress)
    with tempfile.TemporaryDirectory(prefix="pipper-publish-") as tmp:
        meta, wheel_path = read_bundle(path, Path(tmp))
        wheel = inspect_wheel(wheel_path, sha256=meta.sha256)
        return publish_wheel(repo, wheel, meta.dependencies, force=force, progress=progress)


def publish_wheel(
    repo: Repository,
    wheel: WheelInfo | Path,
    dependencies: list[str],
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> PublishResult:
    info = wheel if isinstance(wheel, WheelInfo) else inspect_wheel(wheel)
    meta = meta_for(info, dependencies)
    name, version = meta.project, meta.version
    record_key = release_key(name, version)
    url = repo.storage.url_for(file_key(name, meta.sha256, meta.wheel_name))

    existing_blob = repo.storage.get(record_key)
    existing = Release.from_record(existing_blob.data, record_key) if existing_blob else None
    if existing is not None and existing.meta.sha256 == meta.sha256:
        # Same content: finish whatever an earlier publisher may have left undone.
        index = repo.package_index(name, legacy=False)
        if index is None or index.get(version) is None:
            commit_index(repo, existing)
        return PublishResult(existing, "already published", url)
    if existing is not None and not force:
        raise _conflict(existing, meta)
    # Read (and check) the index before writing anything: a corrupt or newer-format index
    # refuses the publish with the bucket untouched. The merge below starts from this read.
    index_blob = repo.storage.get(index_key(name))
    if index_blob is not None:
        repo.index_doc(name).parse(index_blob.data)

    release = Release(
        meta,
        hashlib.sha256(info.metadata).hexdigest(),
        published=_now(),
        private_requires=private_requires(meta, repo.packages().packages),
    )
    repo.storage.upload(release.key, info.path, size=meta.size, progress=progress)
    repo.storage.put(release.metadata_key, info.metadata, content_type="text/plain")
    try:
        _create_record(repo, release, existing_blob)
    except PreconditionFailed:
        return _after_lost_race(repo, release, url)
    commit_index(repo, release, first=index_blob)
    if existing is not None:
        discard(repo, existing)
        return PublishResult(release, "replaced", url)
    return PublishResult(release, "published", url)


def _create_record(repo: Repository, release: Release, existing: Blob | None) -> None:
    """The commit point; then a check that a server which ignores conditions did not let another win."""
    key = release_key(release.project, release.meta.version)
    if existing is None:
        repo.storage.put(key, release.record_bytes(), content_type=JSON_TYPE, if_none_match=True)
    else:
        repo.storage.put(key, release.record_bytes(), content_type=JSON_TYPE, if_match=existing.etag)
    stored = repo.storage.get(key)
    if stored is None or Release.from_record(stored.data, key).meta.sha256 != release.meta.sha256:
        raise AlreadyPublished(
            f"{release.meta.name} {release.meta.version} was published concurrently by someone else: the server"
            " ignored the conditional write; check with `pipper info` and `pipper verify`"
        )


def _after_lost_race(repo: Repository, release: Release, url: str) -> PublishResult:
    """Someone else's record is there: ours if our own write was applied, else theirs."""
    key = release_key(release.project, release.meta.version)
    winner_blob = repo.storage.get(key)
    winner = Release.from_record(winner_blob.data, key) if winner_blob else None
    if winner is not None and winner.meta.sha256 == release.meta.sha256:
        commit_index(repo, winner)
        # Our own write, applied but its reply lost and retried, also lands here.
        ours = winner_blob is not None and winner_blob.data == release.record_bytes()
        return PublishResult(winner, "published" if ours else "already published", url)
    discard(repo, release)
    if winner is None:
        raise StorageError(f"{release.meta.name} {release.meta.version} changed while publishing; run the command again")
    raise _conflict(winner, release.meta)


def _conflict(existing: Release, meta: BundleMeta) -> AlreadyPublished:
    return AlreadyPublished(
        f"{meta.name} {meta.version} is already published with different content (sha256"
        f" {existing.meta.sha256[:12]}..., yours {meta.sha256[:12]}...): bump the version, or pass"
        " -f/--force to replace it"
    )


def discard(repo: Repository, release: Release) -> None:
    """Delete a release's files; an orphan under files/<sha256>/ is harmless (`pipper verify` lists it)."""
    for key in (release.metadata_key, release.key):
        try:
            repo.storage.delete(key)
        except StorageError:
            pass


def commit_index(repo: Repository, release: Release, *, first: Blob | Unread | None = UNREAD) -> PackageIndex:
    """Merge a committed release (and any record the index lacks) into its package's index."""
    name = release.project
    first_release = False

    def merge(index: PackageIndex) -> bool:
        nonlocal first_release
        first_release = first_release or not index.releases  # sticky: a lost reply retries
        changed = index.add(release)
        return heal(repo, index) or changed

    outcome = repo.cas.update(repo.index_doc(name), merge, first=first)
    if first_release:
        # Only a new package changes the root list; `reindex` repairs it after a crash.
        root = register(repo, name, release.meta.name)
        mark_private_dependents(repo, name, root)
    return outcome.value


def heal(repo: Repository, index: PackageIndex) -> bool:
    """Add release records that the index lacks (left by a crash, or a non-conditional server)."""
    changed = False
    prefix = releases_prefix(index.name)
    for key in repo.storage.list(prefix):
        version = key[len(prefix):].removesuffix(".json")
        if version in index.releases or not key.endswith(".json"):
            continue
        blob = repo.storage.get(key)
        if blob is not None:
            changed |= index.add(Release.from_record(blob.data, repo.location.key_url(key)))
    return changed


def register(repo: Repository, name: str, display_name: str) -> RootIndex:
    """List a package in the root list (and its page)."""

    def add(root: RootIndex) -> bool:
        if root.packages.get(name) == display_name:
            return False
        root.packages[name] = display_name
        return True

    return repo.cas.update(repo.root_doc(), add).value


def mark_private_dependents(repo: Repository, name: str, root: RootIndex) -> None:
    """A new package may already be a dependency of published ones: add it to their hints.

    One GET per package in the repository, only when a package is published for the
    first time, so that resolvers never have to probe for private names.
    """
    for other in root.packages:
        if other == name:
            continue

        def mark(index: PackageIndex) -> bool:
            changed = False
            for release in list(index.releases.values()):
                if name in dependency_names(release.meta) and name not in release.private_requires:
                    hint = tuple(sorted({*release.private_requires, name}))
                    changed |= index.add(replace(release, private_requires=hint))
            return changed

        doc = repo.index_doc(other)
        repo.cas.update(replace(doc, page_key=None), mark)
