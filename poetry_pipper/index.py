"""The documents of the on-bucket repository format (see docs/FORMAT.md), version :data:`FORMAT_VERSION`.

A release is one version of a project with any number of files: wheels of any tags and at most one
sdist. Each file is a :class:`DistFile`, committed by its own file record; the per-package index
holds every release with all its files, so one GET tells a resolver everything. Format 1
repositories (one wheel per version, ``releases/<version>.json``) are read as well: a format 1
record is a release of one file.

Every document is checked against its schema when read (:mod:`.schema`): a document that fails is
a :class:`~poetry_pipper.errors.FormatError` naming its key and the repair, never trusted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import FormatError, NewerFormatError
from .keys import file_key
from .schema import Fields, is_normalized_name, is_project_name, is_requirement, parse_json
from .schema import file_kind as file_kind

FORMAT_VERSION = 2
#: The root list's shape is unchanged since format 1: it is still written as format 1, so that
#: pipper 0.1 clients keep reading it.
ROOT_FORMAT = 1
#: :attr:`PackageIndex.layout` of an index read from this format, and of one made from pipper 0.x objects.
LAYOUT = "pipper"
LEGACY_LAYOUT = "pipper 0.x"
REPAIR = "run `pipper verify` to see what is wrong and `pipper reindex` to rebuild it"
MAX_INDEX = 64 * 1024 * 1024
MAX_RECORD = 1024 * 1024
WHEEL, SDIST = "wheel", "sdist"


def dumps(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def loads(data: bytes, origin: str, *, max_bytes: int = MAX_INDEX) -> tuple[dict[str, Any], int]:
    """A document's top-level object and its format version; a newer format refuses."""
    value = parse_json(data, origin, max_bytes=max_bytes, repair=REPAIR)
    if not isinstance(value, dict):
        raise FormatError(f"{origin} is not a JSON object; {REPAIR}")
    fmt = value.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise FormatError(f"{origin} has no format version: not a pipper document; {REPAIR}")
    if fmt > FORMAT_VERSION:
        raise NewerFormatError(
            f"{origin} uses repository format {fmt}, this pipper reads up to {FORMAT_VERSION}: upgrade poetry-pipper"
        )
    return value, fmt


@dataclass(frozen=True)
class DistFile:
    """One file of a release: a wheel or an sdist, what its metadata declares, and its yank state."""

    name: str  # the project name as published
    version: str  # normalized PEP 440
    filename: str
    sha256: str
    size: int
    upload_time: str = ""  # RFC 3339
    requires_python: str | None = None
    requires_dist: tuple[str, ...] = ()
    #: sha256 of the PEP 658 core-metadata sidecar; None when there is none (an untrusted sdist).
    metadata_sha256: str | None = None
    summary: str = ""
    #: The pipper.json ``dependencies`` list (pipper 0.x's private dependencies), followed like Requires-Dist.
    dependencies: tuple[str, ...] = ()
    yanked: bool = False
    yanked_reason: str = ""
    yanked_at: str = ""
    #: pipper 0.x only (never stored): the bundle holding the wheel. Until the bundle is read
    #: (``Repository.release``) the file is a stub that knows only its name and version.
    bundle_key: str = ""

    @property
    def project(self) -> str:
        return canonicalize_name(self.name)

    @property
    def kind(self) -> str:
        return SDIST if self.filename.endswith(".tar.gz") else WHEEL

    @property
    def key(self) -> str:
        return file_key(self.project, self.sha256, self.filename)

    @property
    def metadata_key(self) -> str:
        return self.key + ".metadata"

    @property
    def yank_value(self) -> str | bool:
        """PEP 592/691 form: the reason, True when yanked without one, else False."""
        return (self.yanked_reason or True) if self.yanked else False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "filename": self.filename, "sha256": self.sha256,
            "size": self.size, "upload_time": self.upload_time, "requires_python": self.requires_python,
            "requires_dist": list(self.requires_dist), "metadata_sha256": self.metadata_sha256,
            "summary": self.summary, "dependencies": list(self.dependencies), "yanked": self.yanked,
            "yanked_reason": self.yanked_reason, "yanked_at": self.yanked_at,
        }

    @classmethod
    def from_json(cls, data: Any, origin: str, where: str = "") -> DistFile:
        f = Fields(data, origin, where, REPAIR)
        name, version, filename = f.name("name"), f.version("version"), f.text("filename", required=True, limit=300)
        if file_kind(filename, name, version) is None:
            f.fail(f"{filename!r} is not a wheel or sdist file name of {name} {version}")
        return cls(
            name=name, version=version, filename=filename, sha256=f.sha256("sha256"),
            size=f.integer("size", required=True), upload_time=f.time("upload_time"),
            requires_python=f.optional_text("requires_python", limit=500),
            requires_dist=tuple(f.strings("requires_dist", check=is_requirement, what="a PEP 508 requirement")),
            metadata_sha256=f.sha256("metadata_sha256", required=False) or None,
            summary=f.text("summary", limit=2000, neutralize=True), dependencies=tuple(f.strings("dependencies")),
            yanked=f.boolean("yanked"), yanked_reason=f.text("yanked_reason", limit=1000, neutralize=True),
            yanked_at=f.time("yanked_at"),
        )

    @classmethod
    def from_v1(cls, data: Any, origin: str, where: str = "") -> DistFile:
        """A format 1 release (one wheel; ``wheel_name``, ``published``)."""
        f = Fields(data, origin, where, REPAIR)
        converted = {**f.data, "filename": f.text("wheel_name", required=True, limit=300),
                     "upload_time": f.time("published")}
        return cls.from_json(converted, origin, where)

    def record_bytes(self) -> bytes:
        return dumps({"format": FORMAT_VERSION, "file": self.to_json()})

    @classmethod
    def from_record(cls, data: bytes, origin: str) -> DistFile:
        """A file record (format 2), or a release record of format 1."""
        value, fmt = loads(data, origin, max_bytes=MAX_RECORD)
        if fmt == 1:
            return cls.from_v1(value.get("release"), origin, "release")
        return cls.from_json(value.get("file"), origin, "file")


@dataclass(frozen=True)
class Release:
    """One version: its files by file name, and the private-dependency hint of the index."""

    name: str
    version: str
    files: dict[str, DistFile] = field(default_factory=dict)
    #: Normalized names among the files' dependencies that are published in the same repository
    #: (as far as known when indexed). Resolvers take those names from this repository only,
    #: never from a public index, at no extra request.
    private_requires: tuple[str, ...] = ()
    #: Optional: every private name reachable from this release through ``private_requires`` (of any
    #: version of each dependency), itself left out, as far as known when written (:mod:`.closure`).
    #: Resolvers fetch these indexes at once, without waiting a round trip per level; a stale or
    #: missing closure costs round trips, never correctness.
    private_closure: tuple[str, ...] = ()
    #: pipper 0.x only (never stored): a *stub* listed from a folder, whose bundle has not been read
    #: yet (``Repository.release`` reads it); its ``files`` are empty until then.
    bundle_key: str = ""

    @classmethod
    def of(cls, *files: DistFile, private_requires: Iterable[str] = (), private_closure: Iterable[str] = ()) -> Release:
        first = files[0]
        return cls(first.name, first.version, {f.filename: f for f in files}, tuple(sorted(set(private_requires))),
                   tuple(sorted(set(private_closure))))

    @property
    def parsed_version(self) -> Version:
        return Version(self.version)

    @property
    def project(self) -> str:
        return canonicalize_name(self.name)

    @property
    def yanked(self) -> bool:
        """Yanked when every file is (PEP 592 yanks files; pipper yanks a version's files together)."""
        return bool(self.files) and all(f.yanked for f in self.files.values())

    @property
    def yanked_reason(self) -> str:
        return next((f.yanked_reason for f in self.ordered() if f.yanked_reason), "")

    @property
    def published(self) -> str:
        """When its first file was uploaded."""
        return min((f.upload_time for f in self.files.values() if f.upload_time), default="")

    @property
    def summary(self) -> str:
        return next((f.summary for f in self.ordered() if f.summary), "")

    def ordered(self) -> list[DistFile]:
        """Wheels by file name, then the sdist."""
        return sorted(self.files.values(), key=lambda f: (f.kind == SDIST, f.filename))

    def with_file(self, dist: DistFile) -> Release:
        return replace(self, name=dist.name, files={**self.files, dist.filename: dist})

    def without_file(self, filename: str) -> Release:
        return replace(self, files={k: v for k, v in self.files.items() if k != filename})

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"files": {k: self.files[k].to_json() for k in sorted(self.files)},
                                "private_requires": list(self.private_requires)}
        if self.private_closure:  # optional (docs/FORMAT.md): absent when there is nothing to fetch early
            data["private_closure"] = list(self.private_closure)
        return data

    @classmethod
    def from_json(cls, data: Any, version: str, origin: str) -> Release:
        f = Fields(data, origin, f"release {version}", REPAIR)
        files = {}
        for filename, entry in f.obj("files", required=True).items():
            dist = DistFile.from_json(entry, origin, f"release {version}, file {filename[:100]!r}")
            if dist.filename != filename or dist.version != version:
                f.fail(f"the entry under {filename[:100]!r} describes {dist.filename} ({dist.version})")
            files[filename] = dist
        if not files:
            f.fail("a release without files")
        if len({d.project for d in files.values()}) > 1:
            f.fail("its files belong to different projects")
        hints = f.strings("private_requires", check=is_normalized_name, what="a normalized project name")
        closure = f.strings("private_closure", check=is_normalized_name, what="a normalized project name")
        return cls.of(*files.values(), private_requires=hints, private_closure=closure)

    @classmethod
    def from_v1(cls, data: Any, version: str, origin: str) -> Release:
        dist = DistFile.from_v1(data, origin, f"release {version}")
        if dist.version != version:
            raise FormatError(f"{origin}: the entry under {version!r} describes version {dist.version}; {REPAIR}")
        hints = Fields(data, origin, f"release {version}", REPAIR).strings(
            "private_requires", check=is_normalized_name, what="a normalized project name")
        return cls.of(dist, private_requires=hints)


@dataclass
class PackageIndex:
    """Every release of one package, as stored in ``packages/<name>/index.json``."""

    name: str
    display_name: str
    releases: dict[str, Release] = field(default_factory=dict)
    #: :data:`LAYOUT`, or :data:`LEGACY_LAYOUT` for an index made from pipper 0.x objects.
    layout: str = LAYOUT
    #: The format it was read in (a format 1 index is rewritten as format 2 by its next write).
    stored_format: int = FORMAT_VERSION

    @classmethod
    def empty(cls, name: str) -> PackageIndex:
        return cls(canonicalize_name(name), name)

    def add_file(self, dist: DistFile) -> bool:
        """Add or replace one file (its release is created if needed); True if the index changed."""
        current = self.releases.get(dist.version)
        if current is not None and current.files.get(dist.filename) == dist:
            return False
        self.releases[dist.version] = (current or Release(dist.name, dist.version)).with_file(dist)
        self.display_name = dist.name
        return True

    def remove_file(self, version: str, filename: str) -> bool:
        current = self.releases.get(version)
        if current is None or filename not in current.files:
            return False
        rest = current.without_file(filename)
        if rest.files:
            self.releases[version] = rest
        else:
            del self.releases[version]
        return True

    def versions(self, *, include_yanked: bool = True) -> list[Version]:
        return sorted(Version(v) for v, r in self.releases.items() if include_yanked or not r.yanked)

    def get(self, version: Version | str) -> Release | None:
        try:
            return self.releases.get(str(Version(str(version))))
        except InvalidVersion:
            return None

    def files(self) -> Iterable[DistFile]:
        for release in self.releases.values():
            yield from release.files.values()

    def to_bytes(self) -> bytes:
        return dumps({
            "format": FORMAT_VERSION,
            "name": self.name,
            "display_name": self.display_name,
            "releases": {v: self.releases[v].to_json() for v in sorted(self.releases, key=Version)},
        })

    @classmethod
    def from_bytes(cls, data: bytes, origin: str, *, name: str | None = None) -> PackageIndex:
        """Parse and check an index; ``name``, when given, is the package its key says it is."""
        value, fmt = loads(data, origin)
        f = Fields(value, origin, "", REPAIR)
        indexed = f.text("name", required=True, limit=200)
        if not is_normalized_name(indexed) or (name is not None and indexed != name):
            f.fail(f"'name' is {indexed[:100]!r}, not the normalized name {name or ''} its key says")
        index = cls(indexed, f.text("display_name", limit=200, neutralize=True) or indexed, stored_format=fmt)
        for version, entry in f.obj("releases", required=True).items():
            try:
                normal = str(Version(version))
            except InvalidVersion:
                raise FormatError(f"{origin}: {version[:100]!r} is not a PEP 440 version; {REPAIR}") from None
            release = Release.from_v1(entry, normal, origin) if fmt == 1 else Release.from_json(entry, normal, origin)
            if release.project != indexed:
                raise FormatError(f"{origin}: release {normal} is of {release.name}, not {indexed}; {REPAIR}")
            index.releases[normal] = release
        return index


@dataclass
class RootIndex:
    """``packages/index.json``: normalized name -> display name of every package, and of the packages
    found in the pipper 0.x layout beside it (``legacy``: normalized name -> folder)."""

    packages: dict[str, str] = field(default_factory=dict)
    #: pipper 0.x folders holding bundles, as found when the root list was created and by ``reindex``:
    #: the names a resolver must take from this repository only, like ``packages``.
    legacy: dict[str, str] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {"format": ROOT_FORMAT, "packages": dict(sorted(self.packages.items()))}
        if self.legacy:  # optional: pipper 0.1 readers ignore it
            data["legacy"] = dict(sorted(self.legacy.items()))
        return dumps(data)

    def names(self) -> frozenset[str]:
        """Every name published here, in either layout."""
        return frozenset(self.packages) | frozenset(self.legacy)

    @classmethod
    def from_bytes(cls, data: bytes, origin: str) -> RootIndex:
        value, _fmt = loads(data, origin)
        fields = Fields(value, origin, "", REPAIR)
        return cls(_names(fields.obj("packages", required=True), origin), _names(fields.obj("legacy"), origin))


def _names(entries: dict[str, Any], origin: str) -> dict[str, str]:
    checked = {}
    for name, display in entries.items():
        if not is_normalized_name(name) or not is_project_name(display) or canonicalize_name(display) != name:
            raise FormatError(f"{origin}: the entry {name[:100]!r} is not a package name and its display name; {REPAIR}")
        checked[name] = display
    return checked


def newest(releases: Iterable[Release]) -> Release | None:
    items = list(releases)
    return max(items, key=lambda r: r.parsed_version) if items else None
