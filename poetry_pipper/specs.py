"""Package specs: ``NAME[:SPEC]`` in the original pipper's syntax, and PEP 508 forms.

The original pipper accepted ``foo``, ``foo:1.2.3``, ``foo:=1.2.3``, ``foo:==1.2.3``,
``foo:1.2.*``, ``foo:1.*.*`` and the comparisons ``<``, ``<=``, ``>``, ``>=``. All of them
become a :class:`packaging.specifiers.SpecifierSet`, so selection is exactly PEP 440's.
PEP 508 requirements (``foo>=1.2,<2``, ``foo~=1.4``, ``foo[extra]==1``) are accepted as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import PipperError

_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_OPERATOR = re.compile(r"^(===|==|!=|~=|<=|>=|<|>|=)?\s*(.*)$")
#: Limits that keep every parse linear and bounded: PEP 503 names in the index are at most 200 characters too.
MAX_NAME = 200
MAX_SPEC = 10_000
MAX_CLAUSES = 100
MAX_SPECS = 10_000
MAX_SPEC_FILE = 16 * 1024 * 1024


class SpecError(PipperError):
    """A package spec could not be parsed."""


def normalize_name(name: str) -> NormalizedName:
    """Validate a project name and return its PEP 503 normal form."""
    if len(name) > MAX_NAME:
        raise SpecError(f"invalid package name {name[:40]!r}...: it is {len(name)} characters long, at most {MAX_NAME}")
    if not _NAME.match(name):
        raise SpecError(
            f"invalid package name {name[:200]!r}: use letters, digits, '.', '_' and '-' (PEP 508)"
        )
    return canonicalize_name(name)


def parse_version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise SpecError(f"invalid version {text!r}: expected a PEP 440 version such as 1.2.3") from None


@dataclass(frozen=True)
class PackageSpec:
    """A requested package: a normalized name plus a version specifier set."""

    name: NormalizedName
    specifier: SpecifierSet = field(default_factory=SpecifierSet)
    text: str = ""
    #: PEP 508 extras (``foo[bar]``) and environment marker (``foo; os_name == "nt"``), if given.
    extras: frozenset[str] = frozenset()
    marker: Marker | None = None

    def allows_prereleases(self, pre: bool = False) -> bool:
        """Pre-releases are considered with ``--pre`` or when the spec names one (``==1.0rc1``)."""
        return pre or bool(self.specifier.prereleases)

    def select(self, versions: Iterable[Version], *, pre: bool = False) -> Version | None:
        """The newest version the spec allows, or None."""
        matching = list(self.specifier.filter(versions, prereleases=self.allows_prereleases(pre)))
        return max(matching) if matching else None

    def is_exact_pin(self) -> bool:
        specs = list(self.specifier)
        return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version

    def __str__(self) -> str:
        return f"{self.name}{self.specifier}" if str(self.specifier) else str(self.name)


def _seed_specifier(spec: str) -> str:
    """Translate one clause of the original pipper syntax into a PEP 440 specifier."""
    match = _OPERATOR.match(spec.strip())
    assert match is not None  # the pattern matches any string
    operator, version = match.group(1) or "", match.group(2).strip()
    if not version:
        raise SpecError(f"invalid version spec {spec!r}: nothing after the operator")
    if operator in ("", "="):
        operator = "=="
    if "*" in version:
        if operator not in ("==", "!="):
            raise SpecError(f"invalid version spec {spec!r}: '*' only works with == or a bare version")
        # 1.*.* means 1.*; PEP 440 allows one trailing wildcard only.
        parts = version.split(".")
        while len(parts) > 1 and parts[-1] == "*" and parts[-2] == "*":
            parts.pop()
        version = ".".join(parts)
    return f"{operator}{version}"


def parse_spec(text: str) -> PackageSpec:
    """Parse ``NAME``, ``NAME:SPEC`` (original syntax) or a PEP 508 requirement."""
    raw = text.strip()
    if not raw:
        raise SpecError("empty package spec: expected NAME or NAME:SPEC, e.g. foo:1.2.*")
    if len(raw) > MAX_SPEC:
        raise SpecError(f"package spec {raw[:40]!r}... is {len(raw)} characters long, at most {MAX_SPEC}")
    if raw.count(",") >= MAX_CLAUSES:
        raise SpecError(f"package spec {raw[:40]!r}... has more than {MAX_CLAUSES} version clauses")
    if ":" in raw and "://" not in raw:
        name_part, _, spec_part = raw.partition(":")
        name = normalize_name(name_part.strip())
        if not spec_part.strip():
            raise SpecError(f"invalid spec {text!r}: nothing after ':' (try {name_part}:1.2.3)")
        clauses = [_seed_specifier(c) for c in spec_part.split(",")]
        try:
            return PackageSpec(name, SpecifierSet(",".join(clauses)), raw)
        except InvalidSpecifier:
            raise SpecError(
                f"invalid version spec {spec_part!r} in {text!r}: try forms like 1.2.3, 1.2.*, >=1.2,<2"
            ) from None
    try:
        req = Requirement(raw)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise SpecError(f"invalid package spec {raw!r}: {reason}") from None
    if req.url:
        raise SpecError(f"invalid package spec {raw!r}: URL requirements are not package specs")
    return PackageSpec(normalize_name(req.name), req.specifier, raw, frozenset(req.extras), req.marker)


def parse_specs(texts: Iterable[str]) -> list[PackageSpec]:
    """Each spec parsed once: the same text given twice is one request (time linear in the input)."""
    unique = list(dict.fromkeys(texts))
    if len(unique) > MAX_SPECS:
        raise SpecError(f"{len(unique)} different package specs: at most {MAX_SPECS} can be requested at once")
    return [parse_spec(t) for t in unique]


def read_spec_file(path: str) -> list[str]:
    """The ``dependencies`` of a pipper.json-style file: ``{"dependencies": ["name:1.2.*", ...]}``.

    Read with a size and depth bound; at most :data:`MAX_SPECS` entries of at most :data:`MAX_SPEC`
    characters each.
    """
    from pathlib import Path

    from .schema import Unreadable, load_bounded

    file = Path(path)
    try:
        data = load_bounded(file.read_bytes(), max_bytes=MAX_SPEC_FILE)
    except FileNotFoundError:
        raise PipperError(f"{path}: no such file (pass -i with a pipper.json-style file)") from None
    except IsADirectoryError:
        raise PipperError(f"{path} is a directory: pass -i with a pipper.json-style file") from None
    except OSError as exc:
        raise PipperError(f"{path}: not a readable JSON file ({exc.strerror})") from None
    except Unreadable as exc:
        raise PipperError(f"{path}: not a readable JSON file (it {exc})") from None
    deps = data.get("dependencies") if isinstance(data, dict) else None
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise PipperError(f"{path}: expected {{\"dependencies\": [\"name\", \"name:1.2.*\", ...]}}")
    if len(deps) > MAX_SPECS:
        raise PipperError(f"{path} lists {len(deps)} dependencies: at most {MAX_SPECS} can be requested at once")
    return deps
