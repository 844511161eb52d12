"""Private dependency resolution: which private releases to install, and which file of each.

The private closure of a request is every name in the chosen files' ``Requires-Dist`` and their
pipper 0.x ``dependencies`` list that exists in the repository, followed recursively; markers and
extras are evaluated for the target environment (:class:`~poetry_pipper.targets.Target`: this
interpreter, or another machine for ``download``/``authorize``). For each private name the newest
version satisfying *all* current constraints *and having a file that fits the target* (tags,
Requires-Python; an sdist only when no wheel fits and sdists are allowed) is picked; picks are
revised until they agree. Cycles are fine. Public names are left to pip.

Cost: one index GET per distinct name probed; the answer for a public name is a single 404 (plus,
once per run for all of them, one LIST of the root looking for pipper 0.x folders: see legacy.py).
Indexes are fetched in parallel, and each index's hints and closure are fetched as soon as it
arrives (:mod:`.prefetch`), so a chain of any depth costs about two rounds of GETs, not one per level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from .dependencies import url_warning
from .errors import NotFound, PipperError
from .index import DistFile, PackageIndex, Release
from .prefetch import WORKERS, IndexFetcher
from .sources import ReleaseSource
from .specs import PackageSpec, SpecError, parse_spec
from .targets import NoCompatibleFile, Target, choose

MAX_ROUNDS = 200
MAX_TRIED = 50  # versions looked at for a file that fits, per name


class ResolutionError(PipperError):
    """No set of private versions satisfies every constraint."""


@dataclass(frozen=True)
class Constraint:
    specifier: SpecifierSet
    origin: str  # "requested" or "required by <name> <version>"
    text: str
    extras: frozenset[str] = frozenset()

    def describe(self) -> str:
        return f"'{self.text}' ({self.origin})"


@dataclass(frozen=True)
class Pick:
    """A chosen release and the file of it to install."""

    release: Release
    dist: DistFile

    @property
    def name(self) -> str:
        return self.dist.name

    @property
    def version(self) -> str:
        return self.dist.version

    @property
    def project(self) -> str:
        return self.dist.project


@dataclass
class Resolution:
    """The chosen private releases, which names turned out to be public, and requests left out by markers."""

    picks: dict[str, Pick] = field(default_factory=dict)
    public: set[str] = field(default_factory=set)
    constraints: dict[str, list[Constraint]] = field(default_factory=dict)
    #: requested specs whose environment marker is false on the target (as pip's "Ignoring ...")
    ignored: list[str] = field(default_factory=list)
    #: dependencies read from the repository and left out, one line each (direct URL references)
    warnings: list[str] = field(default_factory=list)

    def ordered(self) -> list[Pick]:
        return [self.picks[name] for name in sorted(self.picks)]



def requirements(
    dist: DistFile, target: Target, extras: Iterable[str] = (), *, warn: Callable[[str], None] | None = None
) -> list[tuple[str, Constraint]]:
    """Every dependency of a file that applies on the target, wanted with ``extras``.

    Requires-Dist entries that are not PEP 508, and direct URL references, are never followed:
    a repository must not send an installer to an arbitrary URL (they are refused at publish);
    ``warn`` is told of each URL reference skipped.
    """
    origin = f"required by {dist.name} {dist.version}"
    found: list[tuple[str, Constraint]] = []
    for text in dist.requires_dist:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.url:
            if warn is not None:
                warn(url_warning(dist, text))
            continue
        if not target.evaluate(req.marker, extras):
            continue
        found.append((canonicalize_name(req.name), Constraint(req.specifier, origin, text, frozenset(req.extras))))
    for text in dist.dependencies:
        if "://" in text:
            continue  # 0.x presigned-URL dependencies are not resolvable names
        try:
            spec = parse_spec(text)
        except SpecError:
            continue
        if target.evaluate(spec.marker, extras):
            found.append((spec.name, Constraint(spec.specifier, origin, text, spec.extras)))
    return found


def clauses(specifiers: Iterable[SpecifierSet]) -> list[Specifier]:
    """The distinct clauses of several specifier sets (a request may repeat one many times)."""
    return list(dict.fromkeys(clause for specifier in specifiers for clause in specifier))


def allowed(specifiers: Iterable[SpecifierSet], versions: Iterable[Version], *, prereleases: bool) -> list[Version]:
    """The versions every specifier allows, as ``SpecifierSet.filter`` with ``prereleases`` given, in time
    linear in versions x clauses (``&``-ing the sets one by one, or packaging's range intersection of
    many ``!=`` clauses, is quadratic)."""
    checks = clauses(specifiers)
    return [v for v in versions
            if (prereleases or not v.is_prerelease) and all(c.contains(v, prereleases=True) for c in checks)]


def _is_exact(specifier: SpecifierSet) -> bool:
    specs = list(specifier)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


def select(
    source: ReleaseSource, index: PackageIndex, spec: PackageSpec, target: Target, *, pre: bool = False,
    allow_sdist: bool = True,
) -> Pick:
    """The newest release the spec allows with a file for the target; yanked ones only when pinned exactly."""
    constraint = Constraint(spec.specifier, "requested", spec.text or str(spec))
    return _Chooser(source, target, pre, allow_sdist).choose(index, [constraint], spec.is_exact_pin())


class _Chooser:
    """Picks a version and a file of one package for a target."""

    def __init__(self, source: ReleaseSource | None, target: Target | Callable[[], Target], pre: bool,
                 allow_sdist: bool) -> None:
        self.source = source
        self._target = target
        self.pre = pre
        self.allow_sdist = allow_sdist

    @property
    def target(self) -> Target:
        """The target, asked for only when a file is first chosen (under Poetry it may create a venv)."""
        if not isinstance(self._target, Target):
            self._target = self._target()
        return self._target

    def choose(self, index: PackageIndex, constraints: list[Constraint], exact: bool) -> Pick:
        specifiers = [c.specifier for c in constraints]
        pre = self.pre or any(clause.prereleases for clause in clauses(specifiers))
        candidates = index.versions(include_yanked=exact)
        matching = sorted(allowed(specifiers, candidates, prereleases=pre), reverse=True)
        misfit: NoCompatibleFile | None = None
        for version in matching[:MAX_TRIED]:
            assert self.source is not None  # an index came from it
            release = self.source.release(index, str(version))
            assert release is not None  # the version came from the index
            try:
                return Pick(release, choose(release.ordered(), self.target, allow_sdist=self.allow_sdist))
            except NoCompatibleFile as exc:
                misfit = misfit or exc  # the newest matching version's reasons are the useful ones
        if misfit is not None:
            tried = ", ".join(str(v) for v in matching[:MAX_TRIED][:5])
            raise NoCompatibleFile(f"no version of {index.display_name} has a file for {self.target.label}"
                                   f" (looked at {tried}); newest: {misfit}")
        self._explain_conflict(index, constraints, candidates, pre)
        raise AssertionError("unreachable")

    def _explain_conflict(
        self, index: PackageIndex, constraints: list[Constraint], candidates: list[Version], pre: bool
    ) -> None:
        """Name two constraints that cannot both hold, else the one nothing satisfies (linear time:
        the first constraint that leaves no candidate, then one earlier constraint it conflicts with)."""
        remaining = list(candidates)
        for i, second in enumerate(constraints):
            narrowed = allowed([second.specifier], remaining, prereleases=pre)
            if narrowed:
                remaining = narrowed
                continue
            if i and allowed([second.specifier], candidates, prereleases=pre):
                first = next((c for c in constraints[:i]
                              if not allowed([c.specifier, second.specifier], candidates, prereleases=pre)),
                             constraints[i - 1])
                raise ResolutionError(
                    f"conflicting requirements for {index.display_name}: {first.describe()} and"
                    f" {second.describe()} cannot both be satisfied; available:"
                    f" {', '.join(str(v) for v in candidates[-8:]) or 'none'}"
                )
            break
        only = next((c for c in constraints if not allowed([c.specifier], candidates, prereleases=pre)),
                    constraints[0] if constraints else None)
        available = ", ".join(str(v) for v in index.versions(include_yanked=False)[-8:]) or "none"
        hint = " (pre-releases need --pre)" if any(v.is_prerelease for v in candidates) and not pre else ""
        what = only.describe() if only else "the request"
        raise NotFound(f"no version of {index.display_name} matches {what}{hint}; available: {available}")


class Resolver:
    def __init__(
        self,
        source: ReleaseSource | None,
        target: Target | Callable[[], Target],
        *,
        pre: bool = False,
        allow_sdist: bool = True,
        workers: int = WORKERS,
        fixed: dict[str, Pick] | None = None,
    ) -> None:
        self.source = source
        self.where = str(source.location) if source is not None else "the repository (none given: pass -b or -r)"
        self.chooser = _Chooser(source, target, pre, allow_sdist)
        self.indexes: dict[str, PackageIndex | None] = {}
        self.fixed = dict(fixed or {})  # local bundles/wheels given on the command line
        self.fetcher = IndexFetcher(source.package_index, workers=workers) if source is not None else None
        self.warnings: dict[str, None] = {}  # in the order found, each once

    def _probe(self, names: Iterable[str]) -> None:
        todo = sorted({n for n in names if n not in self.indexes and n not in self.fixed})
        if not todo:
            return
        if self.fetcher is None:
            self.indexes.update(dict.fromkeys(todo))
            return
        self.fetcher.want(todo)
        for name in todo:
            self.indexes[name] = self.fetcher.get(name)

    @property
    def target(self) -> Target:
        return self.chooser.target

    def resolve(self, specs: list[PackageSpec]) -> Resolution:
        try:
            return self._resolve(specs)
        finally:
            if self.fetcher is not None:
                self.fetcher.close()  # hinted indexes nobody needed are not fetched any more

    def _resolve(self, specs: list[PackageSpec]) -> Resolution:
        ignored = [s for s in specs if s.marker is not None and not self.target.evaluate(s.marker)]
        specs = [s for s in specs if s not in ignored]
        roots: dict[str, list[Constraint]] = {}
        for spec in specs:
            roots.setdefault(spec.name, []).append(
                Constraint(spec.specifier, "requested", spec.text or str(spec), spec.extras))
        exact: set[str] = {spec.name for spec in specs if spec.is_exact_pin()}
        self._probe(roots)
        for name in roots:
            if name not in self.fixed and self.indexes.get(name) is None:
                raise NotFound(f"package {name!r} not found in {self.where}: check the name, or publish it first")

        picks: dict[str, Pick] = dict(self.fixed)
        for _round in range(MAX_ROUNDS):
            constraints = self._constraints(roots, picks)
            self._probe(constraints)
            new = self._pick(constraints, exact)
            if {n: p.dist for n, p in new.items()} == {n: p.dist for n, p in picks.items()}:
                public = {n for n in constraints if n not in new}
                return Resolution(new, public, constraints, [s.text or str(s) for s in ignored], list(self.warnings))
            picks = new
        raise ResolutionError("private dependency resolution did not settle; pin the packages involved")

    def _constraints(self, roots: dict[str, list[Constraint]], picks: dict[str, Pick]) -> dict[str, list[Constraint]]:
        constraints: dict[str, list[Constraint]] = {n: list(c) for n, c in roots.items()}
        for name, pick in picks.items():
            extras = {e for c in constraints.get(name, ()) for e in c.extras}
            for dep, constraint in requirements(pick.dist, self.target, extras, warn=self._warn):
                constraints.setdefault(dep, []).append(constraint)
        return constraints

    def _warn(self, line: str) -> None:
        self.warnings[line] = None

    def _pick(self, constraints: dict[str, list[Constraint]], exact: set[str]) -> dict[str, Pick]:
        new: dict[str, Pick] = {}
        for name, cons in constraints.items():
            if name in self.fixed:
                pick = self.fixed[name]
                for c in cons:
                    if not c.specifier.contains(Version(pick.version), prereleases=True):
                        raise ResolutionError(
                            f"{pick.dist.filename} (given on the command line) does not satisfy {c.describe()}")
                new[name] = pick
            elif (index := self.indexes.get(name)) is not None:
                # PEP 592: a yanked version only for an exact pin, requested or required.
                pinned = name in exact or any(_is_exact(c.specifier) for c in cons)
                new[name] = self.chooser.choose(index, cons, pinned)
        return new
