"""Closure hints: every private package a release can lead to, so resolvers fetch them all at once.

The hints (``private_requires``) name a release's direct private dependencies: a resolver that
follows only them learns about level n+1 of a chain once level n has arrived, one round trip per
level. ``private_closure`` (docs/FORMAT.md) names every private package reachable from the release:
its hints, and everything any version of each of them reaches (which version a resolver picks is
not known when the release is written). After the first index a resolver fetches all the others
in parallel (:mod:`.prefetch`). A hint only decides what is fetched early, never what is chosen: a
stale or missing closure costs round trips, an extra name one request, never correctness.

Who keeps them: publishing computes the closure of the release it merges from its dependencies'
indexes (one GET per direct private dependency), and when a publish makes a package reach more
than before (a new package, or a new dependency), the closures of the packages that lead to it
are extended (:func:`spread`; one GET per package of the repository, as for a new package's
hints). ``pipper reindex`` recomputes every closure exactly (:func:`exact`), ``pipper verify``
reports a missing name (``missing-closure``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from .index import PackageIndex, Release


def reach(index: PackageIndex | None) -> set[str]:
    """What a package leads to as far as its index says: every release's hints and closure."""
    names: set[str] = set()
    for release in index.releases.values() if index is not None else ():
        names.update(release.private_requires, release.private_closure)
    return names


def closure_of(name: str, hints: Iterable[str], reach_of: Callable[[str], Iterable[str]]) -> tuple[str, ...]:
    """A release's closure: its hints and what each of them reaches, the package itself left out."""
    names = set(hints)
    for hint in list(names):
        names.update(reach_of(hint))
    names.discard(name)
    return tuple(sorted(names))


def graph_reach(edges: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Every package's exact reach in a graph of package -> direct private dependencies (any release)."""
    reaches: dict[str, set[str]] = {}
    for start in edges:
        seen: set[str] = set()
        todo = list(edges[start])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(edges.get(name, ()))
        reaches[start] = seen
    return reaches


def hints(index: PackageIndex) -> set[str]:
    """Every direct private dependency any release of the package names (its ``private_requires``)."""
    return {h for release in index.releases.values() for h in release.private_requires}


def hint_graph(indexes: Mapping[str, PackageIndex]) -> dict[str, set[str]]:
    return {name: hints(index) for name, index in indexes.items()}


def exact(indexes: Mapping[str, PackageIndex]) -> dict[str, dict[str, tuple[str, ...]]]:
    """package -> version -> the closure its hints give in the graph of all these indexes."""
    reaches = graph_reach(hint_graph(indexes))
    return {name: {version: closure_of(name, release.private_requires, lambda h: reaches.get(h, ()))
                   for version, release in index.releases.items()}
            for name, index in indexes.items()}


def with_closures(index: PackageIndex, closures: Mapping[str, Iterable[str]], *, extend: bool = False) -> bool:
    """Set (or, with ``extend``, add to) the closures of the index's releases; True if any changed."""
    changed = False
    for version, release in list(index.releases.items()):
        if version not in closures:
            continue
        wanted = set(closures[version]) | (set(release.private_closure) if extend else set())
        wanted.discard(index.name)
        if tuple(sorted(wanted)) != release.private_closure:
            index.releases[version] = replace(release, private_closure=tuple(sorted(wanted)))
            changed = True
    return changed


def spread(indexes: Mapping[str, PackageIndex], grown: str, added: Iterable[str]) -> dict[str, dict[str, set[str]]]:
    """Where a package that now reaches ``added`` (itself included when it is new) must be added.

    Every release that leads to ``grown`` (by its hints or its closure) gets ``added``; so does
    every release that leads to a package whose own releases lead there, level by level. Returns
    package -> version -> names to add (only what is missing).
    """
    names = set(added)
    leads_there = {grown}
    updates: dict[str, dict[str, set[str]]] = {}
    while True:
        found = False
        for name, index in indexes.items():
            for version, release in index.releases.items():
                if not leads_there & {*release.private_requires, *release.private_closure}:
                    continue
                missing = names - {name} - set(release.private_closure) - updates.get(name, {}).get(version, set())
                if missing:
                    updates.setdefault(name, {}).setdefault(version, set()).update(missing)
                if name not in leads_there:
                    leads_there.add(name)
                    found = True
        if not found:
            return updates


def prefetch_names(index: PackageIndex) -> set[str]:
    """The indexes worth fetching as soon as this one arrives: every release's hints, and the closure
    of the release a resolver most likely picks (the newest that is neither yanked nor a pre-release,
    else the newest)."""
    names = hints(index)
    likely = _likely(index.releases.values())
    if likely is not None:
        names.update(likely.private_closure)
    names.discard(index.name)
    return names


def _likely(releases: Iterable[Release]) -> Release | None:
    ordered = sorted(releases, key=lambda r: r.parsed_version, reverse=True)
    stable = [r for r in ordered if not r.yanked and not r.parsed_version.is_prerelease]
    return (stable or ordered)[0] if ordered else None
