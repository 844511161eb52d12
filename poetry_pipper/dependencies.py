"""Which names a distribution depends on, and which of them are published in the same repository.

Used by publishing and reindexing to record the private-dependency hints (``private_requires``)
and by the 0.x reader for the same hints on bundles read lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .specs import SpecError, parse_spec

if TYPE_CHECKING:
    from .index import DistFile


class Declares(Protocol):
    """A file's declared dependencies: Requires-Dist, and pipper 0.x's ``dependencies`` list."""

    @property
    def requires_dist(self) -> Sequence[str]: ...

    @property
    def dependencies(self) -> Sequence[str]: ...


def dependency_names(dist: Declares) -> set[str]:
    """Normalized names of every Requires-Dist entry (any marker) and 0.x ``dependencies`` item.

    A direct URL reference (``name @ url``) names nothing: it is never taken from the repository.
    """
    names: set[str] = set()
    for text in dist.requires_dist:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if not requirement.url:
            names.add(canonicalize_name(requirement.name))
    for text in dist.dependencies:
        try:
            names.add(parse_spec(text).name)
        except SpecError:
            continue
    return names


def private_requires(dists: Iterable[Declares], known: Iterable[str]) -> tuple[str, ...]:
    """The dependencies of ``dists`` among ``known`` names (the repository's packages)."""
    names: set[str] = set()
    for dist in dists:
        names |= dependency_names(dist)
    return tuple(sorted(names & set(known)))


def url_requirements(texts: Iterable[str]) -> list[str]:
    """The direct URL references (``name @ url``) among Requires-Dist entries."""
    found = []
    for text in texts:
        if "@" not in text:
            continue  # no PEP 508 URL reference without its "@": nothing to parse
        try:
            if Requirement(text).url:
                found.append(text)
        except InvalidRequirement:
            continue
    return found


def url_warning(dist: DistFile, text: str) -> str:
    """The one-line warning for a direct URL reference read from the repository (never followed)."""
    return (f"ignoring {dist.name} {dist.version}'s dependency {text[:200]!r}: a direct URL reference from the"
            " repository is never followed (`pipper publish` refuses them; `pipper verify` checks the index)")
