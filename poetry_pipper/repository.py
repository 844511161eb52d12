"""A repository root, read through its storage: package indexes, the root list and verified files.

:class:`Repository` is the source of releases for everything that reads the bucket (install,
download, info, authorize, the Poetry source). Where no index exists for a name it falls back to
the pipper 0.x objects beside the layout (:mod:`.legacy`). Writing is elsewhere: publishing in
:mod:`.publish`, yank/delete in :mod:`.lifecycle`, repairs in :mod:`.reindex`, all through the
compare-and-swap engine of :mod:`.cas` (:attr:`Repository.cas`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from .errors import FormatError, NotFound, PipperError
from .index import DistFile, PackageIndex, Release, RootIndex
from .keys import (
    HTML_TYPE,
    PAGE_CACHE,
    ROOT_INDEX,
    SIMPLE_JSON_TYPE,
    SIMPLE_ROOT,
    SIMPLE_ROOT_JSON,
    index_key,
    simple_json_key,
    simple_key,
)
from .storage import open_storage
from .storage.base import Blob, Progress, Storage

if TYPE_CHECKING:
    from .cas import Doc, Engine
    from .credentials import Credentials
    from .legacy import LegacyReader
    from .location import Location


class Repository:
    """A repository root behind a :class:`~poetry_pipper.storage.base.Storage`; a release source."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.location = storage.location
        self._cas: Engine | None = None
        self._cancelled = threading.Event()
        self._legacy: LegacyReader | None = None
        self._legacy_lock = threading.Lock()

    @property
    def cas(self) -> Engine:
        """The compare-and-swap engine of this repository's documents (cas.py), made on first use:
        the writing code stays unimported in a process that only reads."""
        if self._cas is None:
            from .cas import Engine

            self._cas = Engine(self.storage)
        return self._cas

    @property
    def legacy(self) -> LegacyReader:
        """pipper 0.x objects under the same root, read only where no new index exists (legacy.py);
        imported on first use (a resolution that finds every index never needs it)."""
        with self._legacy_lock:
            if self._legacy is None:
                from .legacy import LegacyReader

                self._legacy = LegacyReader(self.storage, self._cancelled)
            return self._legacy

    def cancel(self) -> None:
        """Make every transfer in progress (in any thread) stop at its next chunk; temp files are removed."""
        self._cancelled.set()

    # -- the documents, for the compare-and-swap engine ----------------------------------

    def index_doc(self, name: str) -> Doc[PackageIndex]:
        """A package index and its pages: ``simple/<name>/index.html`` and (S3) ``simple/<name>/``."""
        from .cas import Doc, Page
        from .pages import render_simple_json, render_simple_page

        key = index_key(name)
        pages = [Page(simple_key(name), render_simple_page, HTML_TYPE, PAGE_CACHE)]
        if not self.location.is_local:  # a directory cannot hold a key ending in "/" (docs/FORMAT.md)
            pages.append(Page(simple_json_key(name), render_simple_json, SIMPLE_JSON_TYPE, PAGE_CACHE))
        return Doc(key, partial(PackageIndex.from_bytes, origin=self.location.key_url(key), name=name),
                   partial(PackageIndex.empty, name), tuple(pages))

    def root_doc(self) -> Doc[RootIndex]:
        """The root list and its pages: ``simple/index.html`` and (S3) ``simple/``."""
        from .cas import Doc, Page

        pages: list[Page[RootIndex]] = [Page(SIMPLE_ROOT, _render_root, HTML_TYPE, PAGE_CACHE)]
        if not self.location.is_local:
            pages.append(Page(SIMPLE_ROOT_JSON, _render_root_json, SIMPLE_JSON_TYPE, PAGE_CACHE))
        return Doc(ROOT_INDEX, partial(RootIndex.from_bytes, origin=self.location.key_url(ROOT_INDEX)),
                   RootIndex, tuple(pages))

    # -- reading -------------------------------------------------------------------------

    def package_index(self, name: str, *, legacy: bool = True) -> PackageIndex | None:
        """The package's index, in one GET; None if the package was never published (or all deleted).

        With ``legacy``, a package that has no index at all is looked up in the pipper 0.x layout.
        """
        key = index_key(canonicalize_name(name))
        blob = self.storage.get(key)
        if blob is None and legacy:  # pipper 0.x fallback (legacy.py): costs nothing when the index exists
            return self.legacy.package_index(name)
        index = PackageIndex.from_bytes(blob.data, origin=self.location.key_url(key), name=canonicalize_name(name)) \
            if blob else None
        return index if index is not None and index.releases else None

    def index_blobs(self, names: Iterable[str]) -> dict[str, Blob | None]:
        """Several packages' stored indexes as they are (None: absent), read in parallel, 8 at a time:
        for the bookkeeping that reads the whole repository's hints (publish, reindex)."""
        wanted = list(names)
        if not wanted:
            return {}
        with ThreadPoolExecutor(max_workers=min(8, len(wanted))) as pool:
            return dict(zip(wanted, pool.map(lambda n: self.storage.get(index_key(n)), wanted), strict=True))

    def readable_index(self, name: str, blob: Blob | None) -> PackageIndex | None:
        """An index read by :meth:`index_blobs`, for hints' bookkeeping: an unreadable one counts as
        absent (``pipper verify`` reports it)."""
        try:
            return self.index_doc(name).parse(blob.data) if blob is not None else None
        except FormatError:
            return None

    def require_index(self, name: str) -> PackageIndex:
        index = self.package_index(name)
        if index is None:
            raise NotFound(
                f"package {name!r} not found in {self.location}: check the name, or publish it first"
            )
        return index

    def release(self, index: PackageIndex, version: str) -> Release | None:
        """One version of an index, complete: a pipper 0.x stub is read from its bundle here (one GET)."""
        release = index.get(version)
        if release is not None and release.bundle_key:
            return self.legacy.complete(release)
        return release

    def packages(self) -> RootIndex:
        blob = self.storage.get(ROOT_INDEX)
        return RootIndex.from_bytes(blob.data, self.location.key_url(ROOT_INDEX)) if blob else RootIndex()

    def fetch(self, dist: DistFile, dest_dir: Path, *, progress: Progress | None = None) -> Path:
        """Download a file into ``dest_dir``, verified by sha256 before it gets its name."""
        if dist.bundle_key:  # pipper 0.x: the wheel is inside a 0.x bundle (legacy.py)
            return self.legacy.fetch(dist, dest_dir, progress=progress)
        from .download import integrity_error, verified_download

        return verified_download(
            lambda tmp, tick: self.storage.download(dist.key, tmp, progress=tick),
            dest_dir / dist.filename, dist.sha256,
            mismatch=integrity_error(dist.filename, str(self.location), dist.sha256, ", retry or run `pipper verify`"),
            cancelled=self._cancelled, progress=progress,
        )

    def presign(self, dist: DistFile, expires_in: int) -> str:
        """A URL that fetches the file without credentials until it expires (no request made)."""
        if dist.bundle_key:  # its wheel is inside a 0.x bundle: no file to link to
            raise PipperError(
                f"{dist.name} {dist.version} is stored in the pipper 0.x layout, which has no"
                f" wheel file to pre-authorize: run `pipper migrate -b {self.location}` first"
            )
        return self.storage.presign(dist.key, expires_in)


def _render_root(root: RootIndex) -> bytes:
    from .pages import render_simple_root

    return render_simple_root(root.packages)


def _render_root_json(root: RootIndex) -> bytes:
    from .pages import render_simple_root_json

    return render_simple_root_json(root.packages)


def open_repository(location: Location, credentials: Credentials | None = None) -> Repository:
    """The repository at ``location``; credentials are ignored for a local directory."""
    return Repository(open_storage(location, None if location.is_local else credentials))
