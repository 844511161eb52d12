"""The documents of the on-bucket repository format (see docs/FORMAT.md), version :data:`FORMAT_VERSION`.

The release record, the per-package index and the root list; where each lives is in :mod:`.keys`,
the PEP 503 pages derived from them in :mod:`.pages`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .bundle import BundleMeta
from .errors import FormatError, NewerFormatError
from .keys import file_key

FORMAT_VERSION = 1
#: :attr:`PackageIndex.layout` of an index read from this format, and of one made from pipper 0.x objects.
LAYOUT = "pipper"
LEGACY_LAYOUT = "pipper 0.x"


def dumps(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def loads(data: bytes, origin: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise FormatError(f"{origin} is not valid JSON ({exc}); run `pipper reindex` to rebuild it") from None
    if not isinstance(value, dict):
        raise FormatError(f"{origin} is not a JSON object; run `pipper reindex` to rebuild it")
    fmt = value.get("format")
    if not isinstance(fmt, int):
        raise FormatError(f"{origin} has no format version: not a pipper index")
    if fmt > FORMAT_VERSION:
        raise NewerFormatError(
            f"{origin} uses repository format {fmt}, this pipper reads up to {FORMAT_VERSION}: upgrade poetry-pipper"
        )
    return value


@dataclass(frozen=True)
class Release:
    """One published version: the bundle metadata plus where its file is and its yank state."""

    meta: BundleMeta
    metadata_sha256: str
    published: str = ""
    yanked: bool = False
    yanked_reason: str = ""
    #: Normalized names among this release's dependencies that are published in the same
    #: repository (as far as known when it was indexed). Resolvers use it to take those names
    #: from this repository only, never from a public index, at no extra request.
    private_requires: tuple[str, ...] = ()
    #: pipper 0.x only (never stored): the bundle holding the wheel. Until the bundle is read
    #: (``Repository.release``) the release is a stub that knows only its name and version.
    bundle_key: str = ""

    @property
    def version(self) -> Version:
        return Version(self.meta.version)

    @property
    def project(self) -> str:
        return self.meta.project

    @property
    def key(self) -> str:
        return file_key(self.project, self.meta.sha256, self.meta.wheel_name)

    @property
    def metadata_key(self) -> str:
        return self.key + ".metadata"

    def to_json(self) -> dict[str, Any]:
        return {
            **self.meta.fields(),
            "file": self.key,
            "metadata_sha256": self.metadata_sha256,
            "published": self.published,
            "yanked": self.yanked,
            "yanked_reason": self.yanked_reason,
            "private_requires": list(self.private_requires),
        }

    @classmethod
    def from_json(cls, data: Any, origin: str) -> Release:
        if not isinstance(data, dict):
            raise FormatError(f"{origin}: a release entry is not a JSON object")
        meta = BundleMeta.from_json({**data, "bundle_format": 1}, origin=origin)
        if len(meta.sha256) != 64:
            raise FormatError(f"{origin}: release {meta.version} has no valid sha256")
        return cls(
            meta=meta,
            metadata_sha256=str(data.get("metadata_sha256") or ""),
            published=str(data.get("published") or ""),
            yanked=bool(data.get("yanked", False)),
            yanked_reason=str(data.get("yanked_reason") or ""),
            private_requires=tuple(str(n) for n in data.get("private_requires") or ()),
        )

    def record_bytes(self) -> bytes:
        return dumps({"format": FORMAT_VERSION, "release": self.to_json()})

    @classmethod
    def from_record(cls, data: bytes, origin: str) -> Release:
        return cls.from_json(loads(data, origin).get("release"), origin)


@dataclass
class PackageIndex:
    """Every release of one package, as stored in ``packages/<name>/index.json``."""

    name: str
    display_name: str
    releases: dict[str, Release] = field(default_factory=dict)
    #: :data:`LAYOUT`, or :data:`LEGACY_LAYOUT` for an index made from pipper 0.x objects.
    layout: str = LAYOUT

    @classmethod
    def empty(cls, name: str) -> PackageIndex:
        return cls(canonicalize_name(name), name)

    def add(self, release: Release) -> bool:
        """Add or replace a release; True if the index changed."""
        key = str(release.version)
        if self.releases.get(key) == release:
            return False
        self.releases[key] = release
        self.display_name = release.meta.name
        return True

    def versions(self, *, include_yanked: bool = True) -> list[Version]:
        return sorted(
            Version(v) for v, r in self.releases.items() if include_yanked or not r.yanked
        )

    def get(self, version: Version | str) -> Release | None:
        return self.releases.get(str(Version(str(version))))

    def to_bytes(self) -> bytes:
        return dumps(
            {
                "format": FORMAT_VERSION,
                "name": self.name,
                "display_name": self.display_name,
                "releases": {v: self.releases[v].to_json() for v in self.releases},
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes, origin: str) -> PackageIndex:
        value = loads(data, origin)
        releases = value.get("releases")
        name = value.get("name")
        if not isinstance(releases, dict) or not isinstance(name, str):
            raise FormatError(f"{origin} is missing 'name' or 'releases'; run `pipper reindex`")
        index = cls(name, str(value.get("display_name") or name))
        for version, entry in releases.items():
            try:
                Version(version)
            except InvalidVersion:
                raise FormatError(f"{origin}: {version!r} is not a PEP 440 version") from None
            index.releases[version] = Release.from_json(entry, origin)
        return index

    def without(self, version: str) -> PackageIndex:
        return replace(self, releases={v: r for v, r in self.releases.items() if v != version})


@dataclass
class RootIndex:
    """``packages/index.json``: normalized name -> display name."""

    packages: dict[str, str] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return dumps({"format": FORMAT_VERSION, "packages": self.packages})

    @classmethod
    def from_bytes(cls, data: bytes, origin: str) -> RootIndex:
        value = loads(data, origin)
        packages = value.get("packages")
        if not isinstance(packages, dict):
            raise FormatError(f"{origin} is missing 'packages'; run `pipper reindex`")
        return cls({str(k): str(v) for k, v in packages.items()})


def newest(releases: Iterable[Release]) -> Release | None:
    items = list(releases)
    return max(items, key=lambda r: r.version) if items else None
