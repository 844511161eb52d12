"""Which names a release depends on, and which of them are published in the same repository.

Used by publishing and reindexing to record the private-dependency hints (``private_requires``)
and by the 0.x reader for the same hints on bundles read lazily.
"""

from __future__ import annotations

from collections.abc import Iterable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .bundle import BundleMeta
from .specs import SpecError, parse_spec


def dependency_names(meta: BundleMeta) -> set[str]:
    """Normalized names of every Requires-Dist entry (any marker) and 0.x ``dependencies`` item."""
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


def private_requires(meta: BundleMeta, known: Iterable[str]) -> tuple[str, ...]:
    """The dependencies of ``meta`` among ``known`` names (the repository's packages, itself included)."""
    return tuple(sorted(dependency_names(meta) & {*known, meta.project}))
