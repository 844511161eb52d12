"""The original pipper 0.x layout: reading it where no new index exists (``pipper migrate`` is in migrate.py).

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
* one LIST of the package's folder gives its versions: a :class:`~poetry_pipper.index.PackageIndex`
  (``layout`` "pipper 0.x") of *stubs*: releases whose ``bundle_key`` names their bundle and whose
  version is all the object name tells;
* a release is read from its bundle (one GET) only when a reader asks for it with
  :meth:`LegacyReader.complete` (``Repository.release``): the resolver reads only the versions it
  picks. That GET also extracts the wheel, which :meth:`LegacyReader.fetch` then installs without
  another request.

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
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from .bundle import BUNDLE_SUFFIX, BundleMeta, read_bundle
from .dependencies import dependency_names
from .download import verified_download
from .errors import Cancelled, FormatError, IntegrityError, PipperError
from .index import LEGACY_LAYOUT, DistFile, PackageIndex, Release
from .schema import is_project_name
from .storage.base import Progress, Storage

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
        self._indexes: dict[str, PackageIndex | None] = {}
        self._complete: dict[str, Release] = {}
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

    def package_index(self, name: str) -> PackageIndex | None:
        """The 0.x versions of ``name`` (any spelling) as stubs, or None; memoized."""
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
                stubs.setdefault(version, Release(folder, version, bundle_key=bundle.key))
        index = PackageIndex(project, spellings[0], stubs, layout=LEGACY_LAYOUT) if stubs else None
        with self._lock:
            return self._indexes.setdefault(project, index)

    # -- reading bundles -----------------------------------------------------------------

    def _tmp(self) -> Path:
        with self._lock:
            if self._workdir is None:
                self._workdir = Path(tempfile.mkdtemp(prefix="pipper-0x-"))
                weakref.finalize(self, shutil.rmtree, self._workdir, True)
            return self._workdir

    def complete(self, stub: Release, *, progress: Progress | None = None) -> Release:
        """Read a 0.x release from its bundle: one GET, memoized; the wheel is kept for :meth:`fetch`."""
        key = stub.bundle_key
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            done = self._complete.get(key)
            if done is not None:
                return done
            workdir = Path(tempfile.mkdtemp(dir=self._tmp()))
            meta, wheel = read_legacy_bundle(self.storage, key, workdir, self._tick(progress, key))
            if Version(meta.version) != stub.parsed_version or meta.project != stub.project:
                raise FormatError(
                    f"{self.storage.location.key_url(key)} holds {meta.wheel_name}, not {stub.name}"
                    f" {stub.version} as its name says: rename or re-publish it"
                )
            dist = DistFile(meta.name, meta.version, meta.wheel_name, meta.sha256, meta.size,
                            requires_python=meta.requires_python, requires_dist=tuple(meta.requires_dist),
                            summary=meta.summary, dependencies=tuple(meta.dependencies), bundle_key=key)
            hints = tuple(sorted(dependency_names(dist) & set(self.folders())))
            done = replace(Release.of(dist, private_requires=hints), bundle_key=key)
            self._wheels[key] = wheel
            self._complete[key] = done
            return done

    def _tick(self, progress: Progress | None, key: str) -> Progress:
        def tick(amount: int) -> None:
            if self._cancelled.is_set():
                raise Cancelled(f"download of {key} cancelled")
            if progress:
                progress(amount)

        return tick

    def fetch(self, dist: DistFile, dest_dir: Path, *, progress: Progress | None = None) -> Path:
        """Put a 0.x release's wheel into ``dest_dir`` (the one GET was :meth:`complete`'s)."""
        source = self._wheels[dist.bundle_key]

        def copy(tmp: Path, _progress: Progress) -> None:
            shutil.copyfile(source, tmp)

        return verified_download(
            copy, dest_dir / dist.filename, dist.sha256,
            # the local copy, against the hash computed on download
            mismatch=lambda _actual: IntegrityError(f"copying {dist.filename} into {dest_dir} corrupted it; retry"),
            cancelled=self._cancelled, attempts=1,
        )

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
        stub = index.releases.get(str(version)) if index is not None and project == index.name else None
        if stub is None:
            return None
        (dist,) = self.complete(stub).files.values()
        if dist.filename != filename or dist.sha256 != sha256:
            raise IntegrityError(
                f"{self.storage.location.key_url(dist.bundle_key)} (pipper 0.x) now holds {dist.filename}"
                f" with sha256 {dist.sha256[:16]}..., the lock expects {filename} with {sha256[:16]}...:"
                " it was re-published since the lock was made; check it, then run `poetry lock`"
            )
        path = self._wheels[dist.bundle_key]
        return open(path, "rb"), path.stat().st_size


def read_legacy_bundle(storage: Storage, key: str, workdir: Path, progress: Progress | None = None) -> tuple[BundleMeta, Path]:
    """Download a 0.x bundle (one GET) and extract its wheel into ``workdir``; sha256 computed, not verified."""
    local = workdir / "pipper-0x-bundle.pipper"  # never a path made of the key (bucket text)
    storage.download(key, local, progress=progress)
    try:
        return read_bundle(local, workdir)
    except PipperError as exc:
        message = str(exc).removeprefix(f"{local.name}: ")
        raise type(exc)(f"{storage.location.key_url(key)} (pipper 0.x bundle): {message}") from None
    finally:
        local.unlink(missing_ok=True)


def list_bundles(storage: Storage, folder: str) -> list[Bundle]:
    """The ``.pipper`` objects directly in one folder (one LIST)."""
    names = storage.list_dir(f"{folder}/")[1]
    return [
        Bundle(f"{folder}/{name}", folder, decode_safe_version(name[: -len(BUNDLE_SUFFIX)]))
        for name in names
        if name.endswith(BUNDLE_SUFFIX)
    ]


def legacy_names(storage: Storage) -> dict[str, str]:
    """Normalized name -> folder of every folder at the root that holds pipper 0.x bundles.

    One delimited LIST of the root, then one LIST per folder (the layout's own are skipped).
    """
    found: dict[str, str] = {}
    for folder in storage.list_dir("")[0]:
        if folder in ("packages", "simple") or not is_project_name(folder):
            continue
        if any(b.version is not None for b in list_bundles(storage, folder)):
            found.setdefault(canonicalize_name(folder), folder)
    return found


def find_bundles(storage: Storage) -> Iterator[Bundle]:
    """Every 0.x bundle under the root, folder by folder (one LIST per folder, plus one)."""
    for folder in storage.list_dir("")[0]:
        yield from list_bundles(storage, folder)
