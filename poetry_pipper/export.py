"""A requirements file from a poetry.lock in which no public index can take a private name.

``poetry export`` (poetry-plugin-export) writes index lines for HTTP sources only: the packages of
an s3:// or file:// source come out as plain ``name==version`` pins, and pip then looks for them
on whatever index it is given, a public one included (dependency confusion). This module writes
what ``poetry pipper export`` gives instead:

* each package locked from a pipper source as a direct reference to a presigned link of the file
  chosen for the target, ``name @ <url>#sha256=<hex> ; <markers>`` with ``--hash``: pip and uv
  take that name from that URL only;
* every other package as ``name==version ; <markers>`` with the ``--hash`` of each locked file, so
  the whole file is in pip's hash-checking mode, as ``poetry export`` writes it.

The links expire (at most 7 days) and are secrets until then: the file is written with mode 0600
and must never be committed. Markers and groups come from the lock (Poetry 2's ``lock-version``
2.1 records them per package); one GET of the package index per private package.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import FormatError, NotFound, PipperError
from .schema import is_project_name

if TYPE_CHECKING:
    from .repository import Repository
    from .targets import Target

SCHEMES = ("s3://", "file://")


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    hashes: dict[str, str]  # file name -> sha256
    marker: str  # "" when it applies everywhere
    source_url: str  # "" for PyPI


def _marker(entry: Mapping[str, Any], groups: set[str], where: str) -> str | None:
    """The package's marker for the groups exported; None when it is in none of them."""
    in_groups = entry.get("groups")
    if not isinstance(in_groups, list):
        raise FormatError(f"{where} has no 'groups': the lock was made by Poetry before 2.0; run `poetry lock`")
    if not groups & {str(g) for g in in_groups}:
        return None
    markers = entry.get("markers", "")
    if isinstance(markers, dict):
        parts = [str(markers[g]) for g in sorted(groups) if g in markers]
        if len(parts) < len(groups & {str(g) for g in in_groups}):
            return ""  # a group without a marker: everywhere
        markers = " or ".join(f"({p})" for p in parts) if len(parts) > 1 else (parts[0] if parts else "")
    if not isinstance(markers, str):
        raise FormatError(f"{where}: 'markers' is not a string or table; run `poetry lock`")
    if markers:
        try:
            markers = str(Marker(markers))
        except InvalidMarker:
            raise FormatError(f"{where}: {markers[:100]!r} is not an environment marker; run `poetry lock`") from None
    return markers


def read_poetry_lock(text: str, origin: str, groups: Iterable[str]) -> list[LockedPackage]:
    """The packages of a poetry.lock that the groups need (checked: names, versions, hashes, markers)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(f"{origin} is not valid TOML ({exc}); run `poetry lock`") from None
    wanted = set(groups)
    found = []
    for number, entry in enumerate(data.get("package", []) if isinstance(data.get("package"), list) else []):
        where = f"{origin}, package {number + 1}"
        name, version = entry.get("name"), entry.get("version")
        if not isinstance(name, str) or not is_project_name(name):
            raise FormatError(f"{where} has no valid name; run `poetry lock`")
        try:
            version = str(Version(str(version)))
        except InvalidVersion:
            raise FormatError(f"{where} ({name}) has no valid version; run `poetry lock`") from None
        marker = _marker(entry, wanted, where)
        if marker is None:
            continue
        hashes = {}
        for item in entry.get("files", []) or []:
            algorithm, _, digest = str(item.get("hash", "")).partition(":")
            filename = str(item.get("file", ""))
            if algorithm == "sha256" and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) \
                    and filename and "/" not in filename:
                hashes[filename] = digest
        source = entry.get("source") if isinstance(entry.get("source"), dict) else {}
        found.append(LockedPackage(name, version, hashes, marker, str(source.get("url", ""))))
    return found


def _with_marker(requirement: str, marker: str) -> str:
    return f"{requirement} ; {marker}" if marker else requirement


def _private_line(package: LockedPackage, repo: Repository, expires_in: int, target: Target) -> tuple[str, str]:
    """The direct reference of the locked file chosen for ``target``, and its sha256."""
    from .targets import choose

    index = repo.package_index(package.name)
    release = repo.release(index, package.version) if index is not None else None
    files = [d for d in (release.files.values() if release else ()) if package.hashes.get(d.filename) == d.sha256]
    if not files:
        raise NotFound(
            f"{package.name} {package.version} from the lock is not in {repo.location} with the locked files"
            " (deleted, or re-published with other content): run `poetry lock` and export again"
        )
    dist = choose(files, target)
    url = repo.presign(dist, expires_in)
    return _with_marker(f"{canonicalize_name(package.name)} @ {url}#sha256={dist.sha256}", package.marker), dist.sha256


def export_requirements(
    packages: list[LockedPackage],
    open_source: Callable[[str], Repository | None],
    expires_in: int,
    target: Target,
    *,
    header: list[str],
    index_lines: list[str] = (),  # type: ignore[assignment]
) -> tuple[str, int]:
    """The requirements text and how many packages came from pipper sources.

    ``open_source(url)`` gives the repository of a pipper source URL (None: not one of this
    project's sources, an error).
    """
    lines = [f"# {line}" for line in header] + list(index_lines)
    private = 0
    for package in sorted(packages, key=lambda p: canonicalize_name(p.name)):
        if package.source_url.startswith(SCHEMES):
            repo = open_source(package.source_url)
            if repo is None:
                raise PipperError(f"{package.name} is locked from {package.source_url}, which is not a source of"
                                  " this project: run `poetry lock`")
            line, sha = _private_line(package, repo, expires_in, target)
            lines.append(f"{line} \\\n    --hash=sha256:{sha}")
            private += 1
            continue
        if not package.hashes:
            raise PipperError(f"{package.name} {package.version} has no file hashes in the lock (a path, VCS or"
                              " URL dependency): export it another way, or lock it from an index")
        requirement = _with_marker(f"{canonicalize_name(package.name)}=={package.version}", package.marker)
        hashes = " \\\n".join(f"    --hash=sha256:{h}" for h in sorted(set(package.hashes.values())))
        lines.append(f"{requirement} \\\n{hashes}")
    return "\n".join(lines) + "\n", private
