"""A Poetry repository backed by a pipper repository (s3:// or file://).

Everything the resolver needs about a package comes from its pipper index in **one** GET,
memoized for the process: versions, files and sha256, requires_dist, requires_python and
yanked state. Release info is built from that index every time, never from Poetry's
on-disk release cache (keyed ``name:version`` forever, it could serve a stale hash for a
re-published version). Wheels are never downloaded while locking.

Dependencies of a private package that are published in the same repository are pinned to
this source (``Dependency.source_name``) at no extra request; the guard (:mod:`.guard`) pins
every name the source publishes, whoever depends on it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from poetry.core.packages.package import Package
from poetry.core.packages.utils.link import Link

from .compat import PoetryRepository
from .settings import SCHEMES

if TYPE_CHECKING:
    from cleo.io.io import IO
    from packaging.utils import NormalizedName
    from poetry.config.config import Config
    from poetry.core.constraints.version import Version, VersionConstraint
    from poetry.poetry import Poetry

    from ..index import DistFile, PackageIndex, Release
    from ..prefetch import SourceReader
    from ..repository import Repository


class PipperSourceError(RuntimeError):
    """One line naming the source and the fix."""


class PipperSource(PoetryRepository):
    """Release info always comes from the (memoized, one-GET) package index, never from an on-disk
    cache: Poetry's release cache is keyed ``name:version`` forever and could serve a stale hash."""

    def __init__(self, name: str, url: str, *, config: Config, io: IO | None = None) -> None:
        super().__init__(name)
        self._url = url.rstrip("/")
        self._config = config
        self._io = io
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._reader: SourceReader | None = None
        self._root: str | None = None
        from .age import ReleaseAge

        #: Poetry 2.4's solver.min-release-age, from the upload times of the index (plugin/age.py)
        self._age = ReleaseAge(config, name, self._url)

    @property
    def url(self) -> str:
        return self._url

    # -- the pipper side -----------------------------------------------------------------

    def object_url(self, key: str) -> str:
        """A stable link for an object, built without opening the repository (no boto3 import)."""
        if self._root is None:
            from .settings import root_url
            from .transport import register_root

            self._root = self._guard(lambda: root_url(self._url))
            register_root(self._root, lambda: self.core)
        return f"{self._root}/{key}"

    @property
    def core(self) -> Repository:
        return self.reader.repository

    @property
    def reader(self) -> SourceReader:
        """The repository with its indexes and root list, each fetched once per run: the one the
        command's first moments started (early.py) when it is this source's location and identity."""
        with self._lock:
            if self._reader is None:
                self._reader = self._guard(self._open)
            return self._reader

    def _open(self) -> SourceReader:
        from ..prefetch import SourceReader
        from ..repository import open_repository
        from .early import adopt
        from .settings import source_access

        access = source_access(self.name, self._url, self._config)
        started = adopt(self.name, self._url, access)
        if started is not None:
            return started
        return SourceReader(open_repository(access.location, access.credentials), name=f"pipper-{self.name}")

    def _guard(self, action: Any) -> Any:
        from ..errors import PipperError

        try:
            return action()
        except ImportError as exc:
            raise PipperSourceError(
                f"source '{self.name}' ({self._url}) needs poetry-pipper with its dependencies in Poetry's own"
                f" environment ({exc}): install poetry-pipper with `poetry self add poetry-pipper`"
            ) from None
        except PipperError as exc:
            message = str(exc)
            if message.startswith("no credentials"):
                message = (
                    f"no credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run"
                    f" `poetry config http-basic.{self.name} KEY SECRET`, or `pipper repository add {self.name} ...`"
                )
            from ..display import safe

            # Poetry prints it through cleo's formatter: text from the bucket must not be read as markup.
            raise PipperSourceError(safe(f"source '{self.name}' ({self._url}): {message}")) from None

    def published(self) -> frozenset[str]:
        """Names published here, for the guard: one GET of the root list per run (guard.py)."""
        return self._guard(lambda: self.reader.published())  # type: ignore[no-any-return]

    def publishes(self, name: str) -> bool:
        """Whether ``name`` is published here. An index fetched (or being fetched) that exists says
        yes without the root list, which is read only to tell that a name is *not* published here:
        a lock whose names are all private costs no root-list GET."""
        pending = self.reader.fetcher.peek(name)
        if pending is not None:
            try:
                if pending.result() is not None:
                    return True
            except Exception:  # the resolver meets this error where it asks for the index
                pass
        return canonicalize_name(name) in self.published()

    def index(self, name: str) -> PackageIndex | None:
        """The package's index: one GET per package per run, shared by every caller. Poetry resolves
        one name at a time; the names each index hints at (its closure) are fetched meanwhile, in parallel."""
        return self._guard(lambda: self.reader.fetcher.get(name))  # type: ignore[no-any-return]

    def warm_up(self, pinned: Iterable[str], others: Iterable[str]) -> None:
        """Start fetching before Poetry asks (prefetch.SourceReader.warm_up); nothing is fetched twice."""
        self._guard(lambda: self.reader.warm_up(pinned, others))

    def _release(self, name: str, version: Version) -> Release:
        from poetry.repositories.exceptions import PackageNotFoundError

        index = self.index(name)
        # A pipper 0.x release is read from its bundle here (one GET): failures name the source.
        release: Release | None = self._guard(lambda: self.core.release(index, version.text)) if index is not None else None
        if release is None:
            raise PackageNotFoundError(f"Package {name} ({version}) not found in source '{self.name}'.")
        return release

    # -- what Poetry asks ----------------------------------------------------------------

    def candidates(self, name: NormalizedName, constraint: VersionConstraint) -> list[Package]:
        from poetry.core.constraints.version import Version

        index = self.index(name)
        if index is None:
            return []
        found = []
        for text, release in index.releases.items():
            version = Version.parse(text)
            if constraint.allows(version) and not self._age.too_recent(name, release):
                found.append(self._package(name, version, release))
        return found

    def log_age_filtered_versions(self, *, level: str, reset: bool) -> None:
        """Poetry 2.4+ asks every repository what solver.min-release-age left out."""
        self._age.log(self.name, level=level, reset=reset)

    def _package(self, name: str, version: Version, release: Release) -> Package:
        return Package(
            name, version, source_type="legacy", source_reference=self.name, source_url=self._url, yanked=_yanked(release)
        )

    def package(self, name: str, version: Version, extras: list[str] | None = None) -> Package:
        """The release as Poetry's resolver needs it. ``extras`` is passed by Poetry 2.0 only (unused there too)."""
        from poetry.inspection.info import PackageInfo

        from ..index import SDIST
        from .grammars import wait

        release = self._release(name, version)
        files = release.ordered()
        # Poetry locks one set of dependencies per version: the union of what the files declare (wheels
        # for different platforms may differ); the chosen file's own are what pip installs. A direct URL
        # reference is never handed to Poetry: it would fetch and build whatever the URL holds.
        requires_dist = list(dict.fromkeys(r for f in files for r in self._followed(f)))
        primary = next((f for f in files if f.kind == SDIST), files[0])
        wait()  # the requirement grammar, if a thread is building it
        # PackageInfo parses Requires-Dist as Poetry does for any index (markers, extras); the
        # package itself is made with this source, through public constructors only.
        parsed = PackageInfo(
            name=release.name,
            version=release.version,
            summary=release.summary,
            requires_dist=requires_dist,
            requires_python=primary.requires_python,
            files=[{"file": f.filename, "hash": f"sha256:{f.sha256}"} for f in files],
            yanked=_yanked(release),
        ).to_package(name=name)
        package = self._package(name, version, release)
        package.description = parsed.description
        package.python_versions = parsed.python_versions
        package.files = parsed.files
        private = set(release.private_requires) | self.reader.fetcher.found()
        for dependency in parsed.requires:
            if dependency.name in private:
                dependency.source_name = self.name
            package.add_dependency(dependency)
        package.extras = parsed.extras
        return package

    def _followed(self, dist: DistFile) -> list[str]:
        """A file's Requires-Dist without direct URL references, each left out with a warning (once)."""
        from ..dependencies import url_requirements, url_warning
        from ..display import safe

        urls = set(url_requirements(dist.requires_dist))
        for text in urls:
            line = url_warning(dist, text)
            with self._lock:
                new = line not in self._warned
                self._warned.add(line)
            if new and self._io is not None:
                self._io.write_error_line(f"pipper: source '{safe(self.name)}': warning: {safe(line)}")
        return [r for r in dist.requires_dist if r not in urls]

    def find_links_for_package(self, package: Package) -> list[Link]:
        # Installing from a lock: the locked file name and sha256 are the object's key
        # (files/<sha256>/<wheel>), so no index request is needed, and the link URL is stable
        # for Poetry's artifact cache.
        from ..index import file_kind
        from ..keys import file_key

        locked = []
        project = canonicalize_name(package.name)
        for entry in package.files:
            algorithm, _, digest = str(entry.get("hash", "")).partition(":")
            filename = str(entry.get("file", ""))
            if algorithm == "sha256" and file_kind(filename, project, package.version.text) is not None \
                    and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
                locked.append(Link(self.object_url(file_key(project, digest, filename)), hashes={"sha256": digest}))
        if locked:
            return locked  # every locked file: Poetry's chooser picks the one for this environment
        index = self.index(package.name)
        release = self._guard(lambda: self.core.release(index, package.version.text)) if index is not None else None
        if release is None:
            return []
        return [
            Link(self.object_url(f.key), requires_python=f.requires_python, hashes={"sha256": f.sha256},
                 yanked=f.yank_value)
            for f in release.ordered()
        ]

    def search(self, query: str | list[str]) -> list[Package]:
        from poetry.core.constraints.version import Version

        from ..display import escape_markup

        terms = [query] if isinstance(query, str) else list(query)
        root = self._guard(lambda: self.core.packages())
        results = []
        for name in sorted(root.packages):
            if not any(t.lower() in name for t in terms):
                continue
            index = self.index(name)
            if index is None or not index.releases:
                continue
            latest = index.versions()[-1]
            release = index.releases[str(latest)]
            package = self._package(name, Version.parse(str(latest)), release)
            package.description = escape_markup(release.summary)  # `poetry search` prints it as cleo markup
            results.append(package)
        return results


def _yanked(release: Release) -> str | bool:
    """Poetry's form of PEP 592 state: the reason, True when yanked without one, else False."""
    return (release.yanked_reason or True) if release.yanked else False


def install_sources(poetry: Poetry, io: IO) -> None:
    """Give Poetry a guarded pool where each s3:// or file:// source is a PipperSource.

    Poetry built those sources as LegacyRepository objects; the other sources, every priority
    and the order of the sources are kept. Nothing is read from the sources here.
    """
    old = poetry.pool
    if not any(str(getattr(r, "url", "")).startswith(SCHEMES) for r in old.all_repositories):
        return
    from .guard import Guard, GuardedPool, unguarded
    from .transport import mount_on_poetry_sessions

    mount_on_poetry_sessions()
    ours: list[PipperSource] = []
    repositories = []
    for repository in old.all_repositories:  # by priority, then in declaration order
        url = str(getattr(repository, "url", ""))
        if url.startswith(SCHEMES):
            repository = PipperSource(repository.name, url, config=poetry.config, io=io)
            ours.append(repository)
            if io.is_debug():
                from ..display import safe

                io.write_error_line(f"pipper: source '{safe(repository.name)}' -> {safe(url)}")
        repositories.append((repository, old.get_priority(repository.name)))
    pool = GuardedPool(Guard(ours, unguarded(poetry), io), config=poetry.config)
    for repository, priority in repositories:
        pool.add_repository(repository, priority=priority)
    poetry.set_pool(pool)
    if _resolves(poetry):
        warm_up(poetry, ours)
        from .grammars import build_ahead

        build_ahead()  # while Poetry runs the project's interpreter (grammars.py)


def _resolves(poetry: Poetry) -> bool:
    from .running import resolves, running_command

    return resolves(running_command(), poetry.locker.lock)


def warm_up(poetry: Poetry, sources: list[PipperSource]) -> None:
    """Start the first GETs while Poetry still sets up (its virtualenv, the solver): each source
    fetches the indexes of the project's direct dependencies it will be asked for, and from them
    (their closures) every other private index, in parallel, on its own threads."""
    names = {source.name.lower() for source in sources}
    pinned: dict[str, set[str]] = {source.name.lower(): set() for source in sources}
    others: set[str] = set()
    for dependency in poetry.package.all_requires:
        where = (dependency.source_name or "").lower()
        if where in names:
            pinned[where].add(dependency.name)
        elif not where:
            others.add(dependency.name)
    from .early import started

    for source in sources:
        if not started(source.name, source.url):  # else already reading (early.py); opened when first asked
            source.warm_up(pinned[source.name.lower()], others)
