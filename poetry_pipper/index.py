"""The on-bucket repository format (see docs/FORMAT.md), version :data:`FORMAT_VERSION`.

Layout under the repository root (an S3 prefix or a directory)::

    packages/index.json                               root list of all packages
    packages/<name>/index.json                        per-package index: everything a resolver needs, one GET
    packages/<name>/releases/<version>.json           release record (immutable, the commit point)
    packages/<name>/files/<sha256>/<wheel>            the wheel, under its own file name
    packages/<name>/files/<sha256>/<wheel>.metadata   PEP 658 core-metadata sidecar
    simple/index.html                                 PEP 503 root page
    simple/<name>/index.html                          PEP 503 project page

``<name>`` is the PEP 503 normalized project name, ``<version>`` the normalized PEP 440
version. Wheels live in a directory named after their own sha256, so two different
contents for one version can never overwrite each other's bytes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .bundle import BundleMeta
from .errors import FormatError

FORMAT_VERSION = 1
JSON_TYPE = "application/json"
HTML_TYPE = "text/html"

ROOT_INDEX = "packages/index.json"
SIMPLE_ROOT = "simple/index.html"


def package_dir(name: str) -> str:
    return f"packages/{name}"


def index_key(name: str) -> str:
    return f"packages/{name}/index.json"


def releases_prefix(name: str) -> str:
    return f"packages/{name}/releases/"


def release_key(name: str, version: str) -> str:
    return f"{releases_prefix(name)}{version}.json"


def file_key(name: str, sha256: str, filename: str) -> str:
    return f"packages/{name}/files/{sha256}/{filename}"


def simple_key(name: str) -> str:
    return f"simple/{name}/index.html"


def dumps(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


class NewerFormatError(FormatError):
    """Written by a newer pipper: never rewritten (``reindex`` refuses it), only read by upgrading."""


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


_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.1">
    <title>{title}</title>
  </head>
  <body>
    <h1>{title}</h1>
{links}
  </body>
</html>
"""


def render_simple_root(packages: dict[str, str]) -> bytes:
    links = "\n".join(
        f'    <a href="{html.escape(name)}/">{html.escape(packages[name])}</a><br>'
        for name in sorted(packages)
    )
    return _PAGE.format(title="Simple index", links=links).encode()


def render_simple_page(index: PackageIndex) -> bytes:
    """The PEP 503 page, with PEP 592 yanks, PEP 658 metadata and Requires-Python."""
    links = []
    for version in index.versions():
        release = index.releases[str(version)]
        href = f"../../{release.key}#sha256={release.meta.sha256}"
        attrs = [f'href="{html.escape(href)}"']
        if release.meta.requires_python:
            attrs.append(f'data-requires-python="{html.escape(release.meta.requires_python)}"')
        if release.metadata_sha256:
            attrs.append(f'data-dist-info-metadata="sha256={release.metadata_sha256}"')
            attrs.append(f'data-core-metadata="sha256={release.metadata_sha256}"')
        if release.yanked:
            attrs.append(f'data-yanked="{html.escape(release.yanked_reason)}"')
        links.append(f"    <a {' '.join(attrs)}>{html.escape(release.meta.wheel_name)}</a><br>")
    return _PAGE.format(title=f"Links for {html.escape(index.display_name)}", links="\n".join(links)).encode()


def newest(releases: Iterable[Release]) -> Release | None:
    items = list(releases)
    return max(items, key=lambda r: r.version) if items else None
