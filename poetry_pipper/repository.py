"""Reading and writing a repository in the on-bucket format of :mod:`poetry_pipper.index`.

Publishing is a short protocol whose commit point is the creation of the release record:

1. upload the wheel and its PEP 658 sidecar under ``files/<sha256>/`` (content-addressed,
   so a loser of a race never overwrites the winner's bytes);
2. create ``releases/<version>.json`` with ``If-None-Match: *``: exactly one publisher
   of a version wins, the others are told it is already published;
3. merge the release into ``packages/<name>/index.json`` by compare-and-swap
   (``If-Match``), retrying on conflict. Every merge also adds any release record the
   index lacks, so a publisher that died after step 2, or a server that ignored a
   condition, is healed by the next publish (and always by ``reindex``);
4. rewrite the derived PEP 503 pages from the index that is current afterwards.

Readers only ever read the index, so nothing half-published is visible.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

from packaging.utils import canonicalize_name

from .bundle import BundleMeta, inspect_wheel, meta_for, read_bundle, sha256_file
from .errors import AlreadyPublished, IntegrityError, NotFound, PipperError, PreconditionFailed, StorageError
from .index import (
    HTML_TYPE,
    JSON_TYPE,
    ROOT_INDEX,
    SIMPLE_ROOT,
    PackageIndex,
    Release,
    RootIndex,
    file_key,
    index_key,
    release_key,
    releases_prefix,
    render_simple_page,
    render_simple_root,
    simple_key,
)
from .legacy import LegacyReader, LegacyRelease
from .specs import PackageSpec
from .storage import Blob, Progress, Storage

MAX_CAS_ATTEMPTS = 50
FETCH_ATTEMPTS = 2
T = TypeVar("T", PackageIndex, RootIndex)


@dataclass(frozen=True)
class PublishResult:
    release: Release
    status: str  # "published", "already published" or "replaced"
    url: str


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0.01, 0.05) * min(attempt + 1, 10))


class Cancelled(PipperError):
    """A transfer stopped because :meth:`Repository.cancel` was called (Ctrl-C in another thread)."""


_UNREAD = object()


class Repository:
    """A repository root behind a :class:`~poetry_pipper.storage.Storage`."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.location = storage.location
        self._cancelled = threading.Event()
        #: pipper 0.x objects under the same root, read only where no new index exists (legacy.py)
        self.legacy = LegacyReader(storage, self._cancelled)

    def cancel(self) -> None:
        """Make every transfer in progress (in any thread) stop at its next chunk; temp files are removed."""
        self._cancelled.set()

    # -- reading -------------------------------------------------------------------------

    def package_index(self, name: str, *, legacy: bool = True) -> PackageIndex | None:
        """The package's index, in one GET; None if the package was never published (or all deleted).

        With ``legacy``, a package that has no index at all is looked up in the pipper 0.x layout.
        """
        key = index_key(canonicalize_name(name))
        blob = self.storage.get(key)
        if blob is None and legacy:  # pipper 0.x fallback (legacy.py): costs nothing when the index exists
            return self.legacy.package_index(name)
        index = PackageIndex.from_bytes(blob.data, self.location.key_url(key)) if blob else None
        return index if index is not None and index.releases else None

    def require_index(self, name: str) -> PackageIndex:
        index = self.package_index(name)
        if index is None:
            raise NotFound(
                f"package {name!r} not found in {self.location}: check the name, or publish it first"
            )
        return index

    def packages(self) -> RootIndex:
        blob = self.storage.get(ROOT_INDEX)
        return RootIndex.from_bytes(blob.data, self.location.key_url(ROOT_INDEX)) if blob else RootIndex()

    def fetch(self, release: Release, dest_dir: Path, *, progress: Progress | None = None) -> Path:
        """Download a release's wheel into ``dest_dir``, verified by sha256 before it gets its name."""
        if isinstance(release, LegacyRelease):  # pipper 0.x fallback: the wheel is inside a 0.x bundle (legacy.py)
            return self.legacy.fetch(release, dest_dir, progress=progress)
        dest_dir.mkdir(parents=True, exist_ok=True)
        final = dest_dir / release.meta.wheel_name
        with tempfile.NamedTemporaryFile(dir=dest_dir, prefix=".pipper-tmp-", delete=False) as handle:
            tmp = Path(handle.name)

        def tick(amount: int) -> None:
            if self._cancelled.is_set():
                raise Cancelled(f"download of {release.meta.wheel_name} cancelled")
            if progress:
                progress(amount)

        try:
            # A body damaged in transit is fetched once more; stored bytes that are wrong fail twice.
            for attempt in range(FETCH_ATTEMPTS):
                if self._cancelled.is_set():
                    raise Cancelled(f"download of {release.meta.wheel_name} cancelled")
                self.storage.download(release.key, tmp, progress=tick)
                actual = sha256_file(tmp)
                if actual == release.meta.sha256:
                    break
                if attempt + 1 == FETCH_ATTEMPTS:
                    raise IntegrityError(
                        f"hash mismatch for {release.meta.wheel_name} from {self.location}: expected sha256"
                        f" {release.meta.sha256[:16]}..., got {actual[:16]}...; nothing was installed, retry or"
                        " run `pipper verify`"
                    )
            tmp.replace(final)
        finally:
            tmp.unlink(missing_ok=True)
        return final

    # -- publishing ----------------------------------------------------------------------

    def publish(self, bundle: Path, *, force: bool = False, progress: Progress | None = None) -> PublishResult:
        with tempfile.TemporaryDirectory(prefix="pipper-publish-") as tmp:
            meta, wheel_path = read_bundle(bundle, Path(tmp))
            return self.publish_wheel(wheel_path, meta.dependencies, force=force, progress=progress)

    def publish_wheel(
        self,
        wheel_path: Path,
        dependencies: list[str],
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> PublishResult:
        wheel = inspect_wheel(wheel_path)
        meta = meta_for(wheel, dependencies)
        name, version = meta.project, meta.version
        record_key = release_key(name, version)
        url = self.storage.url_for(file_key(name, meta.sha256, meta.wheel_name))

        existing_blob = self.storage.get(record_key)
        existing = Release.from_record(existing_blob.data, record_key) if existing_blob else None
        if existing is not None and existing.meta.sha256 == meta.sha256:
            # Same content: finish whatever an earlier publisher may have left undone.
            index = self.package_index(name, legacy=False)
            if index is None or index.get(version) is None:
                self._commit_index(existing)
            return PublishResult(existing, "already published", url)
        if existing is not None and not force:
            raise self._conflict(existing, meta)
        # Read (and check) the index before writing anything: a corrupt or newer-format index
        # refuses the publish with the bucket untouched. The merge below starts from this read.
        ikey = index_key(name)
        index_blob = self.storage.get(ikey)
        if index_blob is not None:
            PackageIndex.from_bytes(index_blob.data, self.location.key_url(ikey))

        release = Release(
            meta,
            hashlib.sha256(wheel.metadata).hexdigest(),
            published=_now(),
            private_requires=private_requires(meta, self.packages()),
        )

        self.storage.upload(release.key, wheel_path, size=meta.size, progress=progress)
        self.storage.put(release.metadata_key, wheel.metadata, content_type="text/plain")
        try:
            if existing_blob is None:
                self.storage.put(record_key, release.record_bytes(), content_type=JSON_TYPE, if_none_match=True)
            else:
                self.storage.put(record_key, release.record_bytes(), content_type=JSON_TYPE, if_match=existing_blob.etag)
        except PreconditionFailed:
            winner_blob = self.storage.get(record_key)
            winner = Release.from_record(winner_blob.data, record_key) if winner_blob else None
            if winner is not None and winner.meta.sha256 == meta.sha256:
                self._commit_index(winner)
                # Our own write, applied but its reply lost and retried, also lands here.
                ours = winner_blob is not None and winner_blob.data == release.record_bytes()
                return PublishResult(winner, "published" if ours else "already published", url)
            self._discard(release)
            if winner is None:
                raise StorageError(f"{name} {version} changed while publishing; run the command again") from None
            raise self._conflict(winner, meta) from None
        # A server that ignores conditional writes may have let another publisher overwrite us.
        stored = self.storage.get(record_key)
        if stored is None or Release.from_record(stored.data, record_key).meta.sha256 != meta.sha256:
            raise AlreadyPublished(
                f"{name} {version} was published concurrently by someone else: the server ignored the"
                " conditional write; check with `pipper info` and `pipper verify`"
            )
        self._commit_index(release, first=index_blob)
        if existing is not None and existing.meta.sha256 != meta.sha256:
            self._discard(existing)
            return PublishResult(release, "replaced", url)
        return PublishResult(release, "published", url)

    def _conflict(self, existing: Release, meta: BundleMeta) -> AlreadyPublished:
        return AlreadyPublished(
            f"{meta.name} {meta.version} is already published with different content (sha256"
            f" {existing.meta.sha256[:12]}..., yours {meta.sha256[:12]}...): bump the version, or pass"
            " -f/--force to replace it"
        )

    def _discard(self, release: Release) -> None:
        for key in (release.metadata_key, release.key):
            try:
                self.storage.delete(key)
            except StorageError:
                pass  # an orphan under files/<sha256>/ is harmless; `pipper verify` lists it

    def _commit_index(self, release: Release, *, first: Blob | object | None = _UNREAD) -> PackageIndex:
        name = release.project
        ikey = index_key(name)

        first_release = False

        def merge(index: PackageIndex) -> bool:
            nonlocal first_release
            first_release = first_release or not index.releases  # sticky: a lost reply retries
            changed = index.add(release)
            return self._heal(index) or changed

        index, etag, changed = self._cas(ikey, lambda d: PackageIndex.from_bytes(d, self.location.key_url(ikey)),
                                         lambda: PackageIndex.empty(release.meta.name), merge, first=first)
        if changed:
            self._mirror(simple_key(name), ikey, index, etag,
                         lambda d: PackageIndex.from_bytes(d, ikey), render_simple_page)
        if first_release:
            # Only a new package changes the root list; `reindex` repairs it after a crash.
            root = self._register(name, release.meta.name)
            self._mark_private_dependents(name, root)
        return index

    def _mark_private_dependents(self, name: str, root: RootIndex) -> None:
        """A new package may already be a dependency of published ones: add it to their hints.

        One GET per package in the repository, only when a package is published for the
        first time, so that resolvers never have to probe for private names.
        """
        for other in root.packages:
            if other == name:
                continue
            ikey = index_key(other)

            def mark(index: PackageIndex) -> bool:
                changed = False
                for release in list(index.releases.values()):
                    if name in dependency_names(release.meta) and name not in release.private_requires:
                        hint = tuple(sorted({*release.private_requires, name}))
                        changed |= index.add(replace(release, private_requires=hint))
                return changed

            self._cas(ikey, partial(PackageIndex.from_bytes, origin=ikey), partial(PackageIndex.empty, other), mark)

    def _heal(self, index: PackageIndex) -> bool:
        """Add release records that the index lacks (left by a crash, or a non-conditional server)."""
        changed = False
        prefix = releases_prefix(index.name)
        for key in self.storage.list(prefix):
            version = key[len(prefix):].removesuffix(".json")
            if version in index.releases or not key.endswith(".json"):
                continue
            blob = self.storage.get(key)
            if blob is not None:
                changed |= index.add(Release.from_record(blob.data, self.location.key_url(key)))
        return changed

    def _register(self, name: str, display_name: str) -> RootIndex:
        def add(root: RootIndex) -> bool:
            if root.packages.get(name) == display_name:
                return False
            root.packages[name] = display_name
            return True

        root, etag, changed = self._cas(ROOT_INDEX, lambda d: RootIndex.from_bytes(d, ROOT_INDEX), RootIndex, add)
        if changed:
            self._mirror(SIMPLE_ROOT, ROOT_INDEX, root, etag,
                         lambda d: RootIndex.from_bytes(d, ROOT_INDEX), lambda r: render_simple_root(r.packages))
        return root

    def _cas(
        self,
        key: str,
        parse: Callable[[bytes], T],
        empty: Callable[[], T],
        mutate: Callable[[T], bool],
        *,
        first: Blob | object | None = _UNREAD,
    ) -> tuple[T, str, bool]:
        """Read-modify-write ``key`` with compare-and-swap; retried until it wins.

        ``first`` is a read of ``key`` the caller already made, used for the first attempt.
        The flag returned is True when this call wrote, or may have: a write whose reply was
        lost is retried by botocore and then fails its condition, yet it was applied, so the
        caller must still refresh what it derives from ``key``.
        """
        contended = False
        for attempt in range(MAX_CAS_ATTEMPTS):
            if attempt == 0 and first is not _UNREAD:
                blob = first if isinstance(first, Blob) else None
            else:
                blob = self.storage.get(key)
            value = parse(blob.data) if blob else empty()
            if not mutate(value):
                return value, blob.etag if blob else "", contended
            try:
                etag = self.storage.put(
                    key, value.to_bytes(), content_type=JSON_TYPE,
                    if_none_match=blob is None, if_match=blob.etag if blob else None,
                )
            except PreconditionFailed:
                contended = True
                _backoff(attempt)
                continue
            return value, etag, True
        raise StorageError(f"{self.location.key_url(key)} kept changing under concurrent writers; run the command again")

    def _mirror(
        self,
        page_key: str,
        source_key: str,
        value: T,
        etag: str,
        parse: Callable[[bytes], T],
        render: Callable[[T], bytes],
        *,
        only_if_changed: bool = False,
    ) -> bool:
        """Write a derived page, then make sure it was derived from the newest source.

        With ``only_if_changed`` the page is read first and left alone when it is already right.
        True if the page was written.
        """
        written = False
        for _attempt in range(MAX_CAS_ATTEMPTS):
            page = render(value)
            current = self.storage.get(page_key) if only_if_changed else None
            if current is None or current.data != page:
                self.storage.put(page_key, page, content_type=HTML_TYPE)
                written = True
            blob = self.storage.get(source_key)
            if blob is None or blob.etag == etag:
                return written
            value, etag = parse(blob.data), blob.etag
        return written

    # -- lifecycle -----------------------------------------------------------------------

    def update_release(self, name: str, version: str, change: Callable[[Release], Release]) -> tuple[Release, bool]:
        """Change a release record (yank state) by compare-and-swap, then bring the index in line.

        Returns the release and whether the record changed. The index entry is synced even when
        the record did not change, so re-running a yank repairs an index a crash left behind.
        """
        project, version = canonicalize_name(name), _normal_version(version)
        key = release_key(project, version)
        ikey = index_key(project)
        index_blob = self.storage.get(ikey)  # a corrupt or newer-format index refuses before any write
        if index_blob is not None:
            PackageIndex.from_bytes(index_blob.data, self.location.key_url(ikey))
        for attempt in range(MAX_CAS_ATTEMPTS):
            blob = self.storage.get(key)
            if blob is None:
                raise NotFound(f"{name} {version} is not published in {self.location}: check `pipper info {name}`")
            old = Release.from_record(blob.data, self.location.key_url(key))
            new = change(old)
            if new != old:
                try:
                    self.storage.put(key, new.record_bytes(), content_type=JSON_TYPE, if_match=blob.etag)
                except PreconditionFailed:
                    _backoff(attempt)
                    continue
            self.sync_entry(project, version)
            return new, new != old
        raise StorageError(f"{self.location.key_url(key)} kept changing; run the command again")

    def sync_entry(self, name: str, version: str) -> PackageIndex:
        """Make one index entry agree with its release record: added, replaced, or removed if the record is gone.

        The record is read inside the compare-and-swap, so the last index write always
        reflects the newest record. Index-only hints (``private_requires``) are kept.
        """
        project, version = canonicalize_name(name), _normal_version(version)
        ikey, rkey = index_key(project), release_key(project, version)

        def mutate(index: PackageIndex) -> bool:
            blob = self.storage.get(rkey)
            if blob is None:
                if version not in index.releases:
                    return False
                del index.releases[version]
                return True
            record = Release.from_record(blob.data, self.location.key_url(rkey))
            current = index.releases.get(version)
            if current is not None:
                hints = tuple(sorted({*current.private_requires, *record.private_requires}))
                record = replace(record, private_requires=hints)
            display = index.display_name if index.releases else record.meta.name
            changed = index.add(record)
            index.display_name = display  # yanking an old version does not rename the package
            return changed

        index, etag, changed = self._cas(
            ikey, lambda d: PackageIndex.from_bytes(d, self.location.key_url(ikey)), lambda: PackageIndex.empty(project),
            mutate,
        )
        if changed:
            self._mirror(simple_key(project), ikey, index, etag,
                         lambda d: PackageIndex.from_bytes(d, ikey), render_simple_page)
        return index

    def sync_root(self, name: str) -> None:
        """List a package in the root list if its index has releases, drop it if not.

        The package index is read inside the compare-and-swap: a publisher that adds a first
        version concurrently registers after its index write, so it is never dropped.
        """
        project = canonicalize_name(name)
        ikey = index_key(project)

        def mutate(root: RootIndex) -> bool:
            blob = self.storage.get(ikey)
            index = PackageIndex.from_bytes(blob.data, self.location.key_url(ikey)) if blob else None
            if index is None or not index.releases:
                return root.packages.pop(project, None) is not None
            if root.packages.get(project) == index.display_name:
                return False
            root.packages[project] = index.display_name
            return True

        root, etag, changed = self._cas(
            ROOT_INDEX, lambda d: RootIndex.from_bytes(d, self.location.key_url(ROOT_INDEX)), RootIndex, mutate
        )
        if changed:
            self._mirror(SIMPLE_ROOT, ROOT_INDEX, root, etag,
                         lambda d: RootIndex.from_bytes(d, ROOT_INDEX), lambda r: render_simple_root(r.packages))

    def delete_release(self, name: str, version: str) -> Release:
        """Remove a version completely: record (the commit point), index entry, simple page, files.

        When it was the last version, the package leaves the root list; its index stays, empty,
        so that a concurrent or later publisher's compare-and-swap keeps working.
        """
        project, version = canonicalize_name(name), _normal_version(version)
        rkey = release_key(project, version)
        blob = self.storage.get(rkey)
        if blob is not None:
            release = Release.from_record(blob.data, self.location.key_url(rkey))
            self.storage.delete(rkey)
        else:
            # No record: an index entry left without one (`pipper verify` reports it) is removed too.
            ikey = index_key(project)
            index_blob = self.storage.get(ikey)
            index = PackageIndex.from_bytes(index_blob.data, self.location.key_url(ikey)) if index_blob else None
            entry = index.releases.get(version) if index is not None else None
            if entry is None:
                raise NotFound(f"{name} {version} is not published in {self.location}: check `pipper info {name}`")
            release = entry
        index = self.sync_entry(project, version)
        if not index.releases:
            self.sync_root(project)
        self._discard(release)
        return release


def dependency_names(meta: BundleMeta) -> set[str]:
    """Normalized names of every Requires-Dist entry (any marker) and 0.x ``dependencies`` item."""
    from packaging.requirements import InvalidRequirement, Requirement

    from .specs import SpecError, parse_spec

    names: set[str] = set()
    for text in meta.requires_dist:
        try:
            names.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    for text in meta.dependencies:
        try:
            names.add(parse_spec(text).name)
        except SpecError:
            continue
    return names


def private_requires(meta: BundleMeta, root: RootIndex) -> tuple[str, ...]:
    known = set(root.packages) | {meta.project}
    return tuple(sorted(dependency_names(meta) & known))


def _normal_version(version: str) -> str:
    from .specs import parse_version

    return str(parse_version(version))


def select(index: PackageIndex, spec: PackageSpec, *, pre: bool = False) -> Release:
    """The newest release the spec allows; yanked releases only when pinned exactly (PEP 592)."""
    allowed = index.versions(include_yanked=spec.is_exact_pin())
    chosen = spec.select(allowed, pre=pre)
    if chosen is None:
        available = ", ".join(str(v) for v in index.versions(include_yanked=False)[-8:]) or "none"
        hint = " (pre-releases need --pre)" if any(v.is_prerelease for v in allowed) and not pre else ""
        raise NotFound(
            f"no version of {index.display_name} matches {spec.text or spec}{hint}; available: {available}"
        )
    return index.releases[str(chosen)]


def with_yank(reason: str | None) -> Callable[[Release], Release]:
    return lambda r: replace(r, yanked=reason is not None, yanked_reason=reason or "")
