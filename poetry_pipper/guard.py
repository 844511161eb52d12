"""The dependency-confusion guard's core: which names a repository publishes (no Poetry here).

A resolver that knows these names takes each of them only from that repository, never from a
public index, whatever the source priorities say (the Poetry plugin does: plugin/guard.py).

Cost: one GET of the root list, ``packages/index.json``. Only a repository with no root list
at all (a pipper 0.x bucket nobody has published to with this pipper) falls back to the one
delimited LIST of the root that the 0.x reader does anyway (legacy.py, memoized: later 0.x
lookups reuse it), so 0.x names are guarded there too.

The root list names the 0.x packages too (``legacy``): those found when it was created (the bucket's
first publish in this format) and by every ``pipper reindex``. A 0.x package added later by a
pipper 0.x client is guarded once ``reindex`` (or ``migrate``) ran; ``verify`` reports it until then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import InvalidName, canonicalize_name

from .errors import PipperError
from .index import RootIndex
from .keys import ROOT_INDEX

if TYPE_CHECKING:
    from .repository import Repository


def published_names(repository: Repository) -> frozenset[str]:
    """Normalized names published in ``repository``: its root list (one GET), else its 0.x folders."""
    blob = repository.storage.get(ROOT_INDEX)
    if blob is not None:
        return RootIndex.from_bytes(blob.data, repository.location.key_url(ROOT_INDEX)).names()
    return frozenset(canonicalize_name(folder) for folder in repository.legacy.folders())


def unguarded_names(value: object, origin: str) -> frozenset[str]:
    """The names a project lets any source provide (its explicit opt-out), checked and normalized."""
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PipperError(f'{origin} must be a list of package names, like ["squat"]: fix pyproject.toml')
    names = set()
    for item in value:
        try:
            names.add(canonicalize_name(item, validate=True))
        except InvalidName:
            raise PipperError(f"{origin}: {item!r} is not a package name: fix pyproject.toml") from None
    return frozenset(names)
