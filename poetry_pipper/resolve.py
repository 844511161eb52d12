"""Private dependency resolution: which private releases to install.

The private closure of a request is every name in the chosen releases' ``Requires-Dist``
(markers evaluated for the target interpreter) and their bundle ``dependencies`` list that
exists in the repository, followed recursively. For each private name the newest version
satisfying *all* current constraints is picked; picks are revised until they agree.
Cycles are fine. Public names are left to pip.

Cost: one index GET per distinct name probed (in parallel per wave); the answer for a
public name is a single 404 (plus, once per run for all of them, one LIST of the root looking
for pipper 0.x folders: see legacy.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from .errors import NotFound, PipperError
from .index import PackageIndex, Release
from .sources import ReleaseSource
from .specs import PackageSpec, SpecError, parse_spec

MAX_ROUNDS = 200


class ResolutionError(PipperError):
    """No set of private versions satisfies every constraint."""


@dataclass(frozen=True)
class Constraint:
    specifier: SpecifierSet
    origin: str  # "requested" or "<name> <version>"
    text: str

    def describe(self) -> str:
        return f"'{self.text}' ({self.origin})"


@dataclass
class Resolution:
    """The chosen private releases, and which names turned out to be public."""

    releases: dict[str, Release] = field(default_factory=dict)
    public: set[str] = field(default_factory=set)
    constraints: dict[str, list[Constraint]] = field(default_factory=dict)

    def ordered(self) -> list[Release]:
        return [self.releases[name] for name in sorted(self.releases)]


def release_requirements(release: Release, extras: Iterable[str] = ()) -> list[tuple[str, SpecifierSet, str]]:
    """(name, specifier, text) for every dependency of a release that applies here."""
    env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    wanted = ["", *sorted(extras)]
    found: list[tuple[str, SpecifierSet, str]] = []
    for text in release.meta.requires_dist:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.marker is not None and not any(req.marker.evaluate({**env, "extra": e}) for e in wanted):
            continue
        found.append((canonicalize_name(req.name), req.specifier, text))
    for text in release.meta.dependencies:
        if "://" in text:
            continue  # 0.x presigned-URL dependencies are not resolvable names
        try:
            spec = parse_spec(text)
        except SpecError:
            continue
        found.append((spec.name, spec.specifier, text))
    return found


def _is_exact(specifier: SpecifierSet) -> bool:
    specs = list(specifier)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


def select(source: ReleaseSource, index: PackageIndex, spec: PackageSpec, *, pre: bool = False) -> Release:
    """The newest release the spec allows; yanked releases only when pinned exactly (PEP 592)."""
    allowed = index.versions(include_yanked=spec.is_exact_pin())
    chosen = spec.select(allowed, pre=pre)
    if chosen is None:
        available = ", ".join(str(v) for v in index.versions(include_yanked=False)[-8:]) or "none"
        hint = " (pre-releases need --pre)" if any(v.is_prerelease for v in allowed) and not pre else ""
        raise NotFound(
            f"no version of {index.display_name} matches {spec.text or spec}{hint}; available: {available}"
        )
    return _complete(source, index, str(chosen))


def _complete(source: ReleaseSource, index: PackageIndex, version: str) -> Release:
    release = source.release(index, version)
    assert release is not None  # the version came from the index
    return release


class Resolver:
    def __init__(
        self,
        source: ReleaseSource | None,
        *,
        pre: bool = False,
        workers: int = 8,
        fixed: dict[str, Release] | None = None,
    ) -> None:
        self.source = source
        self.where = str(source.location) if source is not None else "the repository (none given: pass -b or -r)"
        self.pre = pre
        self.workers = workers
        self.indexes: dict[str, PackageIndex | None] = {}
        self.fixed = dict(fixed or {})  # local bundles/wheels given on the command line

    def _probe(self, names: Iterable[str]) -> None:
        todo = sorted({n for n in names if n not in self.indexes and n not in self.fixed})
        if not todo:
            return
        source = self.source
        if source is None:
            self.indexes.update(dict.fromkeys(todo))
            return
        with ThreadPoolExecutor(max_workers=min(self.workers, len(todo))) as pool:
            for name, index in zip(todo, pool.map(source.package_index, todo), strict=True):
                self.indexes[name] = index

    def _choose(self, name: str, constraints: list[Constraint], exact: bool) -> Release:
        index = self.indexes[name]
        assert index is not None
        combined = SpecifierSet()
        for c in constraints:
            combined &= c.specifier
        pre = self.pre or bool(combined.prereleases)
        candidates = index.versions(include_yanked=exact)
        chosen = max(combined.filter(candidates, prereleases=pre), default=None)
        if chosen is not None:
            assert self.source is not None  # an index came from it
            return _complete(self.source, index, str(chosen))
        self._explain_conflict(index, constraints, candidates, pre)
        raise AssertionError("unreachable")

    def _explain_conflict(
        self, index: PackageIndex, constraints: list[Constraint], candidates: list[Version], pre: bool
    ) -> None:
        for i, first in enumerate(constraints):
            for second in constraints[i + 1:]:
                if not list((first.specifier & second.specifier).filter(candidates, prereleases=pre)):
                    raise ResolutionError(
                        f"conflicting requirements for {index.display_name}: {first.describe()} and"
                        f" {second.describe()} cannot both be satisfied; available:"
                        f" {', '.join(str(v) for v in candidates[-8:]) or 'none'}"
                    )
        only = constraints[0] if constraints else None
        available = ", ".join(str(v) for v in index.versions(include_yanked=False)[-8:]) or "none"
        hint = " (pre-releases need --pre)" if any(v.is_prerelease for v in candidates) and not pre else ""
        what = only.describe() if only else "the request"
        raise ResolutionError(f"no version of {index.display_name} matches {what}{hint}; available: {available}")

    def resolve(self, specs: list[PackageSpec], extras: dict[str, set[str]] | None = None) -> Resolution:
        extras = extras or {}
        roots: dict[str, list[Constraint]] = {}
        for spec in specs:
            roots.setdefault(spec.name, []).append(Constraint(spec.specifier, "requested", spec.text or str(spec)))
        exact = {spec.name for spec in specs if spec.is_exact_pin()}
        self._probe(roots)
        for name in roots:
            if name not in self.fixed and self.indexes.get(name) is None:
                raise PipperError(f"package {name!r} not found in {self.where}: check the name, or publish it first")

        picks: dict[str, Release] = dict(self.fixed)
        for _round in range(MAX_ROUNDS):
            constraints: dict[str, list[Constraint]] = {n: list(c) for n, c in roots.items()}
            for release in picks.values():
                for dep, specifier, text in release_requirements(release, extras.get(release.project, ())):
                    constraints.setdefault(dep, []).append(
                        Constraint(specifier, f"required by {release.meta.name} {release.meta.version}", text)
                    )
            self._probe(constraints)
            new: dict[str, Release] = {}
            for name, cons in constraints.items():
                if name in self.fixed:
                    release = self.fixed[name]
                    for c in cons:
                        if not c.specifier.contains(release.version, prereleases=True):
                            raise ResolutionError(
                                f"{release.meta.wheel_name} (given on the command line) does not satisfy {c.describe()}"
                            )
                    new[name] = release
                elif self.indexes.get(name) is not None:
                    # PEP 592: a yanked version only for an exact pin, requested or required.
                    pinned = name in exact or any(_is_exact(c.specifier) for c in cons)
                    new[name] = self._choose(name, cons, pinned)
            if {n: r.version for n, r in new.items()} == {n: r.version for n, r in picks.items()}:
                public = {n for n in constraints if n not in new}
                return Resolution(new, public, constraints)
            picks = new
        raise ResolutionError("private dependency resolution did not settle; pin the packages involved")
