"""The original pipper 0.x layout: reading it where no new index exists, and migrating it.

pipper 0.x (PyPI ``pipper``, up to 0.11.1) stored every version as one object,
``<root>/<name>/<safe_version>.pipper``, and nothing else: no index, no hashes.

* ``<root>`` is the 0.x ``root_prefix`` (default ``pipper``), which is also this pipper's default
  repository root for a bare bucket name: ``-b my-bucket`` reads both layouts side by side.
* ``<name>`` is the project name exactly as published, **not** normalized (``Acme_Report``).
* ``<safe_version>`` encodes a strict SemVer: ``v1-2-3``, then ``__pre_<pre>`` and
  ``__build_<build>`` with ``.`` written as ``_`` (``v1-2-3__pre_alpha_1__build_2-tests`` is
  ``1.2.3-alpha.1+2-tests``, PEP 440 ``1.2.3a1+2.tests``).
* The bundle is a zip of ``package.whl`` and ``package.meta`` (JSON: ``name``, ``version``,
  ``wheel_name``, ``safe_version``, ``timestamp`` and the project's ``pipper.json``, whose
  ``dependencies`` list pipper follows). :func:`~poetry_pipper.bundle.read_bundle` reads it.

**The fallback** (:meth:`Repository.package_index` calls :meth:`LegacyReader.package_index` only
when ``packages/<name>/index.json`` does not exist, so a new or migrated package still costs one
GET). For a name without a new index:

* one LIST of ``<root>/`` with a delimiter, once per process (:meth:`LegacyReader.folders`),
  finds the 0.x folders and matches them by normalized name: a public name costs nothing more;
* one LIST of the package's folder gives its versions: a :class:`LegacyIndex` of *stubs* (the
  version is all the object name tells);
* a release is read from its bundle (one GET) the first time it is *looked up*
  (``index.releases[v]`` / ``index.get(v)``), never by iterating: the resolver reads only the
  versions it picks. That GET also extracts the wheel, which :meth:`LegacyReader.fetch` then
  installs without another request.

**Hashes.** 0.x recorded none, so there is nothing to verify a 0.x wheel against. Its sha256 is
computed from the bytes downloaded, and pipper checks only that the bundle is well formed and
holds the wheel its object name says (project and version). Poetry writes that computed hash into
``poetry.lock``, so later installs from the lock are checked against the first download.
``pipper migrate`` records it once in the new format, after which every download is verified.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from .bundle import BUNDLE_SUFFIX, BundleMeta, read_bundle, sha256_file
from .errors import AlreadyPublished, FormatError, IntegrityError, PipperError
from .index import PackageIndex, Release, index_key

if TYPE_CHECKING:
    from .repository import Repository
    from .storage import Progress, Storage

_SAFE_VERSION = re.compile(r"^v(\d+)-(\d+)-(\d+)(?:__pre_([0-9A-Za-z_-]+?))?(?:__build_([0-9A-Za-z_-]+))?$")
_FILE_KEY = re.compile(r"^packages/([^/]+)/files/([0-9a-f]{64})/([^/]+\.whl)$")


def decode_safe_version(safe: str) -> Version | None:
    """The PEP 440 version of a 0.x object name (without ``.pipper``); None if it is not one.

    ``v1-2-3__pre_rc_1`` -> SemVer ``1.2.3-rc.1`` -> ``1.2.3rc1``. A SemVer that PEP 440 cannot
    express (``1.0.0-foo``) is None: no wheel can carry that version either.
    """
    match = _SAFE_VERSION.match(safe)
    if match is None:
        return None
    major, minor, patch, pre, build = match.groups()
    semver = f"{int(major)}.{int(minor)}.{int(patch)}"
    if pre:
        semver += "-" + pre.replace("_", ".")
    if build:
        semver += "+" + build.replace("_", ".")
    try:
        return Version(semver)
    except InvalidVersion:
        return None


def is_0x_bundle(key: str) -> bool:
    """Whether a key (relative to the root) is a pipper 0.x object: ``<name>/<safe_version>.pipper``."""
    folder, _, name = key.partition("/")
    return bool(folder) and "/" not in name and name.endswith(BUNDLE_SUFFIX) \
        and decode_safe_version(name[: -len(BUNDLE_SUFFIX)]) is not None


@dataclass(frozen=True)
class LegacyRelease(Release):
    """A release stored as a 0.x bundle.

    A *stub* (``complete=False``) knows only its version and object; a complete one was read
    from its bundle: wheel name, computed sha256, Requires-Dist and ``dependencies``.
    """

    bundle_key: str = ""
    complete: bool = False


class LegacyReleases(dict[str, Release]):
    """Versions of a 0.x package: iterating yields stubs, looking one up reads its bundle (one GET)."""

    def __init__(self, reader: LegacyReader, stubs: dict[str, Release]) -> None:
        super().__init__(stubs)
        self._reader = reader

    def __getitem__(self, version: str) -> Release:
        release = super().__getitem__(version)
        if isinstance(release, LegacyRelease) and not release.complete:
            release = self._reader.complete(release)
            super().__setitem__(version, release)
        return release

    def get(self, version: str, default: Any = None) -> Any:
        if version not in self:
            return default
        return self[version]


@dataclass
class LegacyIndex(PackageIndex):
    """A :class:`PackageIndex` made from a 0.x folder listing (see :class:`LegacyReleases`)."""

    folders: list[str] = field(default_factory=list)

    def stub(self, version: str) -> Release:
        """The release without reading its bundle: a stub, or the complete release if already read."""
        return dict.__getitem__(self.releases, version)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Bundle:
    """One 0.x object: its key (relative to the repository root), folder and decoded version."""

    key: str
    folder: str
    version: Version | None


class LegacyReader:
    """The 0.x objects under one repository root, read lazily and memoized for the process."""

    def __init__(self, storage: Storage, cancelled: threading.Event | None = None) -> None:
        self.storage = storage
        self._cancelled = cancelled or threading.Event()
        self._lock = threading.Lock()
        self._folders: dict[str, list[str]] | None = None
        self._indexes: dict[str, LegacyIndex | None] = {}
        self._complete: dict[str, LegacyRelease] = {}
        self._wheels: dict[str, Path] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self._workdir: Path | None = None

    # -- listing -------------------------------------------------------------------------

    def folders(self) -> dict[str, list[str]]:
        """Normalized name -> the folder spellings under the root; one LIST, once."""
        with self._lock:
            if self._folders is None:
                found: dict[str, list[str]] = {}
                for folder in self.storage.list_dir("")[0]:
                    found.setdefault(canonicalize_name(folder), []).append(folder)
                self._folders = found
            return self._folders

    def package_index(self, name: str) -> LegacyIndex | None:
        """The 0.x versions of ``name`` (any spelling), or None; memoized."""
        project = canonicalize_name(name)
        with self._lock:
            if project in self._indexes:
                return self._indexes[project]
        spellings = self.folders().get(project, [])
        stubs: dict[str, Release] = {}
        for folder in spellings:
            for bundle in list_bundles(self.storage, folder):
                if bundle.version is None:
                    continue  # not a 0.x version name; `pipper migrate` reports it
                version = str(bundle.version)
                meta = BundleMeta(name=folder, version=version, wheel_name="", sha256="", size=0)
                stubs.setdefault(version, LegacyRelease(meta, "", bundle_key=bundle.key))
        index = LegacyIndex(project, spellings[0], LegacyReleases(self, stubs), folders=spellings) if stubs else None
        with self._lock:
            return self._indexes.setdefault(project, index)

    # -- reading bundles -----------------------------------------------------------------

    def _tmp(self) -> Path:
        with self._lock:
            if self._workdir is None:
                self._workdir = Path(tempfile.mkdtemp(prefix="pipper-0x-"))
                weakref.finalize(self, shutil.rmtree, self._workdir, True)
            return self._workdir

    def complete(self, release: LegacyRelease, *, progress: Progress | None = None) -> LegacyRelease:
        """Read a 0.x release from its bundle: one GET, memoized; the wheel is kept for :meth:`fetch`."""
        if release.complete:
            return release
        key = release.bundle_key
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            done = self._complete.get(key)
            if done is not None:
                return done
            workdir = Path(tempfile.mkdtemp(dir=self._tmp()))
            meta, wheel = read_legacy_bundle(self.storage, key, workdir, self._tick(progress, key))
            if Version(meta.version) != release.version or meta.project != release.project:
                raise FormatError(
                    f"{self.storage.location.key_url(key)} holds {meta.wheel_name}, not {release.meta.name}"
                    f" {release.version} as its name says: rename or re-publish it"
                )
            known = set(self.folders())
            done = LegacyRelease(
                meta, "", private_requires=tuple(sorted(_dependency_names(meta) & known)),
                bundle_key=key, complete=True,
            )
            self._wheels[key] = wheel
            self._complete[key] = done
            return done

    def _tick(self, progress: Progress | None, key: str) -> Progress:
        def tick(amount: int) -> None:
            if self._cancelled.is_set():
                from .repository import Cancelled

                raise Cancelled(f"download of {key} cancelled")
            if progress:
                progress(amount)

        return tick

    def fetch(self, release: LegacyRelease, dest_dir: Path, *, progress: Progress | None = None) -> Path:
        """Put a 0.x release's wheel into ``dest_dir`` (the one GET is :meth:`complete`'s)."""
        done = self.complete(release, progress=progress)
        source = self._wheels[done.bundle_key]
        dest_dir.mkdir(parents=True, exist_ok=True)
        final = dest_dir / done.meta.wheel_name
        with tempfile.NamedTemporaryFile(dir=dest_dir, prefix=".pipper-tmp-", delete=False) as handle:
            tmp = Path(handle.name)
        try:
            shutil.copyfile(source, tmp)
            if sha256_file(tmp) != done.meta.sha256:  # the local copy, against the hash computed on download
                raise IntegrityError(f"copying {done.meta.wheel_name} into {dest_dir} corrupted it; retry")
            tmp.replace(final)
        finally:
            tmp.unlink(missing_ok=True)
        return final

    def open_wheel(self, key: str) -> tuple[BinaryIO, int] | None:
        """For a Poetry lock made before ``pipper migrate``: the wheel at ``packages/<n>/files/<sha>/<wheel>``
        served from its 0.x bundle. None when ``key`` is no such wheel of a 0.x package."""
        match = _FILE_KEY.match(key)
        if match is None:
            return None
        name, sha256, filename = match.groups()
        try:
            project, version, _build, _tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return None
        index = self.package_index(name)
        if index is None or project != index.name or str(version) not in index.releases:
            return None
        release = index.releases[str(version)]
        assert isinstance(release, LegacyRelease)
        if release.meta.wheel_name != filename or release.meta.sha256 != sha256:
            raise IntegrityError(
                f"{self.storage.location.key_url(release.bundle_key)} (pipper 0.x) now holds {release.meta.wheel_name}"
                f" with sha256 {release.meta.sha256[:16]}..., the lock expects {filename} with {sha256[:16]}...:"
                " it was re-published since the lock was made; check it, then run `poetry lock`"
            )
        path = self._wheels[release.bundle_key]
        return open(path, "rb"), path.stat().st_size


def read_legacy_bundle(storage: Storage, key: str, workdir: Path, progress: Progress | None = None) -> tuple[BundleMeta, Path]:
    """Download a 0.x bundle (one GET) and extract its wheel into ``workdir``; sha256 computed, not verified."""
    local = workdir / key.rsplit("/", 1)[-1]
    storage.download(key, local, progress=progress)
    try:
        return read_bundle(local, workdir)
    except PipperError as exc:
        message = str(exc).removeprefix(f"{local.name}: ")
        raise type(exc)(f"{storage.location.key_url(key)} (pipper 0.x bundle): {message}") from None
    finally:
        local.unlink(missing_ok=True)


def _dependency_names(meta: BundleMeta) -> set[str]:
    from .repository import dependency_names

    return dependency_names(meta)


# -- pipper migrate ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What happened to one 0.x bundle."""

    key: str
    name: str
    version: str
    status: str  # "migrated", "already present", "would migrate", "failed"
    detail: str = ""
    sha256: str = ""

    def to_json(self) -> dict[str, str]:
        data = {"key": self.key, "name": self.name, "version": self.version, "status": self.status}
        if self.detail:
            data["detail"] = self.detail
        if self.sha256:
            data["sha256"] = self.sha256
        return data


STATUSES = ("migrated", "already present", "would migrate", "failed")


def list_bundles(storage: Storage, folder: str) -> list[Bundle]:
    """The ``.pipper`` objects directly in one folder (one LIST)."""
    names = storage.list_dir(f"{folder}/")[1]
    return [
        Bundle(f"{folder}/{name}", folder, decode_safe_version(name[: -len(BUNDLE_SUFFIX)]))
        for name in names
        if name.endswith(BUNDLE_SUFFIX)
    ]


def find_bundles(storage: Storage) -> Iterator[Bundle]:
    """Every 0.x bundle under the root, folder by folder (one LIST per folder, plus one)."""
    for folder in storage.list_dir("")[0]:
        yield from list_bundles(storage, folder)


def migrate(repo: Repository, *, dry_run: bool = False, report: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Publish every 0.x bundle's wheel in the new format; the 0.x objects are left as they are.

    Idempotent and resumable: a version already published with the same wheel is "already
    present" (the protocol finishes whatever an interrupted run left undone). One bundle's
    failure is recorded and the others still migrate. ``dry_run`` downloads nothing: it reads
    each package's new index once and says which versions it lacks.
    """
    outcomes: list[Outcome] = []
    present: dict[str, set[str]] = {}

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if report:
            report(outcome)

    for bundle in find_bundles(repo.storage):
        url = repo.storage.location.key_url(bundle.key)
        if bundle.version is None:
            done(Outcome(bundle.key, bundle.folder, "", "failed",
                         f"{url}: not a pipper 0.x version name (v1-2-3[__pre_...][__build_...]) that PEP 440 can express"))
            continue
        version = str(bundle.version)
        if dry_run:
            project = canonicalize_name(bundle.folder)
            if project not in present:
                present[project] = _published_versions(repo, project)
            status = "already present" if version in present[project] else "would migrate"
            done(Outcome(bundle.key, bundle.folder, version, status))
            continue
        try:
            done(_migrate_one(repo, bundle, version))
        except PipperError as exc:
            done(Outcome(bundle.key, bundle.folder, version, "failed", str(exc)))
    return outcomes


def _published_versions(repo: Repository, project: str) -> set[str]:
    key = index_key(project)
    blob = repo.storage.get(key)
    if blob is None:
        return set()
    return set(PackageIndex.from_bytes(blob.data, repo.location.key_url(key)).releases)


def _migrate_one(repo: Repository, bundle: Bundle, version: str) -> Outcome:
    url = repo.storage.location.key_url(bundle.key)
    with tempfile.TemporaryDirectory(prefix="pipper-migrate-") as tmp:
        meta, wheel = read_legacy_bundle(repo.storage, bundle.key, Path(tmp))
        if meta.version != version or meta.project != canonicalize_name(bundle.folder):
            raise FormatError(f"{url} holds {meta.wheel_name}, not {bundle.folder} {version} as its name says; left as it is")
        try:
            result = repo.publish_wheel(wheel, meta.dependencies)
        except AlreadyPublished:
            raise AlreadyPublished(
                f"{meta.name} {version} is already published in the new layout with a different wheel than"
                f" {url} (sha256 {meta.sha256[:12]}...): both were left as they are; compare them"
                f" (`pipper info {meta.name} --json`), then delete the wrong one"
            ) from None
    status = "migrated" if result.status == "published" else "already present"
    return Outcome(bundle.key, meta.name, version, status, sha256=meta.sha256)


def summarize(outcomes: list[Outcome]) -> dict[str, int]:
    counts = {"found": len(outcomes)}
    for status in STATUSES:
        counts[status.replace(" ", "_")] = sum(1 for o in outcomes if o.status == status)
    return counts
