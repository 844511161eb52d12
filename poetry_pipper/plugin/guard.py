"""The dependency-confusion guard under Poetry: a name published in a pipper source comes from it only.

When a project has s3:// or file:// sources, :class:`GuardedPool` replaces Poetry's repository
pool. Every lookup of a name published in one of those sources (direct or transitive, pinned to
another source or not, whatever the priorities and the order of the sources) is answered by that
source alone: another source's package of the same name is never seen by the resolver.

* Which names: a name whose index a source has (the resolver reads it anyway) is published there;
  any other name is looked up in :func:`poetry_pipper.guard.published_names`, one GET of each
  source's root list, made the first time it is needed (``poetry --version``, ``check``, an install
  from a lock, or a lock whose names are all private never pay it).
* A name published in several pipper sources: a dependency pinned to one of them keeps it, any
  other lookup asks them in Poetry's order. A dependency pinned to any other source fails with
  one line that names the fix (another source's package is never used, even when asked for).
* Opting out, per name and only explicitly, in pyproject.toml::

      [tool.poetry-pipper]
      unguarded = ["squat"]   # Poetry's priorities decide where these come from

* ``-v`` prints one line per guarded name the resolver looks up.
"""

from __future__ import annotations

import inspect
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from poetry.repositories.exceptions import PackageNotFoundError
from poetry.repositories.repository_pool import RepositoryPool

if TYPE_CHECKING:
    from cleo.io.io import IO
    from poetry.config.config import Config
    from poetry.core.constraints.version import Version
    from poetry.core.packages.dependency import Dependency
    from poetry.core.packages.package import Package
    from poetry.poetry import Poetry

    from .source import PipperSource

SETTINGS = "tool.poetry-pipper"
KEYS = ("unguarded",)
_PACKAGE_SIGNATURE = inspect.signature(RepositoryPool.package)


class Guard:
    """Name -> the pipper sources that publish it, learnt lazily: a source's index of the name says
    yes, its root list (one GET per source, only when needed) says no (PipperSource.publishes)."""

    def __init__(self, sources: list[PipperSource], unguarded: frozenset[str], io: IO) -> None:
        self._sources = sources
        self._unguarded = unguarded
        self._io = io
        self._lock = threading.Lock()
        self._told: set[str] = set()

    def sources_for(self, name: str) -> list[str]:
        """The sources ``name`` must come from (Poetry's order); empty when it is free to come from any."""
        key = canonicalize_name(name)
        if key in self._unguarded:
            self._tell(key, f"{key}: from any source ([{SETTINGS}] unguarded)")
            return []
        if len(self._sources) == 1:
            found = [self._sources[0].publishes(key)]
        else:
            with ThreadPoolExecutor(max_workers=len(self._sources)) as pool:
                found = list(pool.map(lambda source: source.publishes(key), self._sources))
        sources = [source.name for source, yes in zip(self._sources, found, strict=True) if yes]
        if sources:
            where = f"source {sources[0]}" if len(sources) == 1 else f"sources {', '.join(sources)}"
            self._tell(key, f"{key}: only from {where}, where it is published")
        return sources

    def _tell(self, key: str, line: str) -> None:
        with self._lock:
            if key in self._told:
                return
            self._told.add(key)
        if self._io.is_verbose():
            self._io.write_error_line(line)


class GuardedPool(RepositoryPool):
    """Poetry's pool, with every guarded name answered by its pipper source(s) only."""

    def __init__(self, guard: Guard, *, config: Config) -> None:
        super().__init__(config=config)
        self.guard = guard

    def _only(self, name: str, pinned: str | None) -> list[str] | None:
        """The sources to ask for ``name`` (None: not guarded); a pin to another source is an error."""
        sources = self.guard.sources_for(name)
        if not sources:
            return None
        if not pinned:
            return sources
        if pinned.lower() not in {s.lower() for s in sources}:
            raise GuardError(
                f"{canonicalize_name(name)} is published in source '{sources[0]}', so it is never taken from"
                f" source '{pinned}': remove `source = \"{pinned}\"` from its dependency, or list it in"
                f" [{SETTINGS}] unguarded"
            )
        return [pinned]

    def find_packages(self, dependency: Dependency) -> list[Package]:
        sources = self._only(dependency.name, dependency.source_name)
        if sources is None:
            return super().find_packages(dependency)
        return [package for source in sources for package in self.repository(source).find_packages(dependency)]

    def package(self, name: str, version: Version, *args: Any, **kwargs: Any) -> Package:
        # Poetry 2.0 passes (name, version, extras, repository_name), 2.1+ (name, version, repository_name).
        arguments = _PACKAGE_SIGNATURE.bind(self, name, version, *args, **kwargs).arguments
        arguments.pop("self")
        sources = self._only(name, arguments.get("repository_name"))
        if sources is None:
            return super().package(**arguments)
        for source in sources:
            try:
                return super().package(**{**arguments, "repository_name": source})
            except PackageNotFoundError:
                continue
        # Only a version the guarded sources never offered gets here: one from poetry.lock.
        name = canonicalize_name(name)
        raise GuardError(
            f"{name} {version} is not in source '{sources[0]}', where {name} is published, and no other source's"
            f" {name} is used: if poetry.lock has it from elsewhere, run `poetry update {name}`"
        )


class GuardError(RuntimeError):
    """A dependency asks for a guarded name from another source (one line; no traceback under Poetry)."""


def unguarded(poetry: Poetry) -> frozenset[str]:
    """``[tool.poetry-pipper] unguarded`` of the project (checked)."""
    from ..errors import PipperError
    from ..guard import unguarded_names

    table = poetry.pyproject.data.get("tool", {}).get("poetry-pipper", {})
    if not isinstance(table, dict):
        raise PipperError(f"[{SETTINGS}] must be a table: fix pyproject.toml")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise PipperError(f"[{SETTINGS}] has no setting {unknown[0]!r} (known: {', '.join(KEYS)}): fix pyproject.toml")
    return unguarded_names(table.get("unguarded"), f"[{SETTINGS}] unguarded")
