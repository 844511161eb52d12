"""Reading distribution files safely: sdists (``.tar.gz``) without extracting them, and a wheel's ``WHEEL`` file.

Distribution files come from publishers and from the bucket: untrusted input. Everything here
reads in one pass, in time linear in the file's size and in memory bounded by the limits below,
and refuses anything odd with one line (:class:`FormatError`) naming the file.
"""

from __future__ import annotations

import email.parser
import email.policy
import gzip
import hashlib
import io
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from packaging.metadata import InvalidMetadata, Metadata, parse_email
from packaging.tags import Tag, parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .errors import FormatError, PipperError

#: At most this many members in an sdist (the largest sdists on PyPI hold a few tens of thousands).
MAX_SDIST_MEMBERS = 50_000
#: At most this many bytes once decompressed (a gzip bomb stops here).
MAX_SDIST_UNPACKED = 4 * 1024**3
#: PKG-INFO and a wheel's WHEEL file are small; anything bigger is refused.
MAX_PKG_INFO = 1024 * 1024
MAX_WHEEL_FILE = 64 * 1024
MAX_WHEEL_MEMBERS = 100_000
MAX_WHEEL_UNPACKED = 16 * 1024**3
#: Longest member name, and longest pax/GNU extended header (both read into memory by tarfile).
MAX_MEMBER_NAME = 1024
MAX_EXTENDED_HEADER = 1024 * 1024
_CHUNK = 1024 * 1024
_EXTENDED = {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
_WHEEL_VERSION = re.compile(r"^(\d+)\.(\d+)$")


@dataclass(frozen=True)
class DistInfo:
    """A distribution file and what its core metadata says (the bytes become the PEP 658 sidecar)."""

    path: Path
    name: str
    version: str
    sha256: str
    size: int
    metadata: bytes
    requires_dist: list[str]
    requires_python: str | None
    summary: str


@dataclass(frozen=True)
class SdistInfo(DistInfo):
    """An sdist file and what its ``PKG-INFO`` says.

    ``metadata_trusted`` is PEP 643's test: Metadata-Version 2.2 or later and neither
    Requires-Dist nor Requires-Python marked Dynamic, so the dependencies here are the ones a
    build would produce, and ``metadata`` (the PKG-INFO bytes) may be served as core metadata.
    """

    metadata_trusted: bool


def inspect_sdist(path: Path) -> SdistInfo:
    """Check an sdist and read its ``PKG-INFO``, without extracting anything.

    Refuses (one line): a file name ``packaging`` cannot parse or that is not ``.tar.gz``, a
    corrupt or truncated archive, members that are not under exactly one top-level directory
    ``<name>-<version>/``, absolute or ``..`` paths, links pointing outside that directory,
    device files and FIFOs, duplicate names, more than :data:`MAX_SDIST_MEMBERS` members, a
    missing or huge ``PKG-INFO``, and a ``PKG-INFO`` whose name or version disagree with the file name.
    """
    origin = _plain(path.name)
    if not path.name.endswith(".tar.gz"):
        raise FormatError(f"{origin}: not an sdist: an sdist is a NAME-VERSION.tar.gz file (PEP 625)")
    try:
        name, version = parse_sdist_filename(path.name)
    except InvalidSdistFilename:
        raise FormatError(f"{origin}: not a valid sdist file name (expected NAME-VERSION.tar.gz)") from None
    stem = path.name[: -len(".tar.gz")]
    try:
        with open(path, "rb") as handle:
            raw = _Reader(handle, limit=None, origin=origin)
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                unpacked = _Reader(gz, limit=MAX_SDIST_UNPACKED, origin=origin)
                tarinfo = _checked_tarinfo()
                with tarfile.open(fileobj=unpacked, mode="r|", tarinfo=tarinfo, errors="strict") as tar:
                    pkg_info = _scan(tar, stem, origin)
                    _check_end(tar, tarinfo.ended, origin)
                if pkg_info is None:
                    raise FormatError(f"{origin}: no {_show(stem + '/PKG-INFO')}: not an sdist, or one made by hand; rebuild it")
                while gz.read(_CHUNK):  # up to the gzip trailer: CRC and length are checked there
                    pass
            while raw.read(_CHUNK):
                pass
    except FileNotFoundError:
        raise PipperError(f"{path}: no such file") from None
    except _Refused as exc:
        raise FormatError(f"{origin}: {exc}") from None
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error, UnicodeError, OSError) as exc:
        raise FormatError(f"{origin}: not a readable .tar.gz: corrupt or truncated ({_first_line(exc)}); build or download it again") from None
    return _sdist_info(path, pkg_info, name, version, raw)


def _sdist_info(path: Path, pkg_info: bytes, name: str, version: Version, raw: _Reader) -> SdistInfo:
    origin = _plain(path.name)
    try:
        fields, _unparsed = parse_email(pkg_info)
        meta = Metadata.from_email(pkg_info, validate=False)
        meta_name, meta_version = meta.name, meta.version
        requires_dist = [str(r) for r in meta.requires_dist or []]
        requires_python = str(meta.requires_python) if meta.requires_python else None
        summary = meta.summary or ""
        metadata_version = Version(str(fields.get("metadata_version", "")))
    except (InvalidMetadata, InvalidVersion, ValueError, TypeError, KeyError) as exc:
        raise FormatError(f"{origin}: unreadable PKG-INFO ({_first_line(exc)}); rebuild the sdist") from None
    if canonicalize_name(meta_name) != name or meta_version != version:
        raise FormatError(
            f"{origin}: PKG-INFO says {_plain(meta_name)} {meta_version}, the file name disagrees; rebuild the sdist"
        )
    dynamic = {d.lower() for d in fields.get("dynamic", [])}
    trusted = metadata_version >= Version("2.2") and not dynamic & {"requires-dist", "requires-python"}
    return SdistInfo(
        path=path, name=meta_name, version=str(meta_version), sha256=raw.digest.hexdigest(), size=raw.count,
        metadata=pkg_info, requires_dist=requires_dist, requires_python=requires_python, summary=summary,
        metadata_trusted=trusted,
    )


class _Reader(io.RawIOBase):
    """A read-only stream that hashes and counts what passes through, and stops at ``limit`` bytes."""

    def __init__(self, source: IO[bytes] | gzip.GzipFile, *, limit: int | None, origin: str) -> None:
        super().__init__()
        self._source = source
        self._limit = limit
        self._origin = origin
        self.digest = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._source.read(len(view))
        view[: len(data)] = data
        self.digest.update(data)
        self.count += len(data)
        if self._limit is not None and self.count > self._limit:
            raise FormatError(f"{self._origin}: unpacks to more than {self._limit} bytes; refusing it")
        return len(data)


class _Refused(Exception):
    """Raised from inside tarfile, where the file name is not known; becomes a FormatError."""


class _CheckedTarInfo(tarfile.TarInfo):
    """Refuses extended headers big enough to exhaust memory (tarfile reads them whole).

    ``ended`` records whether the end-of-archive block was seen: tarfile stops quietly at a
    missing, truncated or damaged header too. Use a fresh subclass per archive (:func:`_checked_tarinfo`).
    """

    ended = False

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Any:
        if len(buf) == tarfile.BLOCKSIZE and not buf.strip(b"\0"):
            cls.ended = True
        info = super().frombuf(buf, encoding, errors)
        if info.type in _EXTENDED and info.size > MAX_EXTENDED_HEADER:
            raise _Refused(f"an extended tar header of {info.size} bytes, more than {MAX_EXTENDED_HEADER}; refusing it")
        return info


def _checked_tarinfo() -> type[_CheckedTarInfo]:
    return type("_CheckedTarInfo", (_CheckedTarInfo,), {"ended": False})


def _scan(tar: tarfile.TarFile, stem: str, origin: str) -> bytes | None:
    """Check every member; return the PKG-INFO bytes (None when there is none)."""
    seen: set[str] = set()
    files: set[str] = set()
    symlinks: dict[str, str] = {}
    pkg_info: bytes | None = None
    for count, member in enumerate(tar, start=1):
        if count > MAX_SDIST_MEMBERS:
            raise FormatError(f"{origin}: more than {MAX_SDIST_MEMBERS} members; refusing it")
        _check_member(member, stem, origin, seen, files)
        if member.issym():
            symlinks[member.name] = member.linkname
        if member.name == f"{stem}/PKG-INFO":
            pkg_info = _read_pkg_info(tar, member, origin)
    if symlinks:
        _check_through_symlinks(seen, symlinks, origin)
    return pkg_info


def _check_through_symlinks(names: set[str], symlinks: dict[str, str], origin: str) -> None:
    """No member lies below a symlink, and no symlink's target passes through another one.

    Checked once every member is known, since a symlink may come after what it affects: a lexical
    check alone misses ``a -> .`` followed by ``b -> a/a/..``, which leaves the directory.
    """
    for name in names:
        parts = name.split("/")
        for end in range(1, len(parts)):
            if "/".join(parts[:end]) in symlinks:
                raise FormatError(f"{origin}: member {_show(name)} lies below a symlink; refusing it")
    for name, target in symlinks.items():
        stack = name.split("/")[:-1]
        parts = target.split("/")
        for index, part in enumerate(parts):
            if part == "..":
                if len(stack) <= 1:
                    raise FormatError(f"{origin}: member {_show(name)} is a symlink pointing outside {_show(stack[0] + '/')}; refusing it")
                stack.pop()
            elif part not in ("", "."):
                stack.append(part)
                if index < len(parts) - 1 and "/".join(stack) in symlinks:
                    raise FormatError(f"{origin}: member {_show(name)} is a symlink through another symlink; refusing it")


def _check_member(member: tarfile.TarInfo, stem: str, origin: str, seen: set[str], files: set[str]) -> None:
    name = member.name
    where = f"{origin}: member {_show(name)}"
    if len(name) > MAX_MEMBER_NAME:
        raise FormatError(f"{where[:200]} has a name longer than {MAX_MEMBER_NAME} characters; refusing it")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise FormatError(f"{where} is an absolute path; refusing it")
    parts = name.split("/")
    if ".." in parts:
        raise FormatError(f"{where} has a '..' component; refusing it")
    if "\\" in name or "" in parts or "." in parts:
        raise FormatError(f"{where} is not a plain relative path; refusing it")
    if parts[0] != stem or (len(parts) == 1 and not member.isdir()):
        raise FormatError(f"{where} is outside {_show(stem + '/')}: an sdist has exactly one top-level directory NAME-VERSION/")
    if name in seen:
        raise FormatError(f"{where} appears twice; refusing it")
    seen.add(name)
    if member.ischr() or member.isblk() or member.isfifo():
        raise FormatError(f"{where} is a device file or FIFO; refusing it")
    if member.issym():
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
        if member.linkname.startswith("/") or "\\" in member.linkname or not _inside(target, stem):
            raise FormatError(f"{where} is a symlink pointing outside {_show(stem + '/')}; refusing it")
    elif member.islnk():
        if posixpath.normpath(member.linkname) not in files:
            raise FormatError(f"{where} is a hard link to {_show(member.linkname)}, not an earlier file of the sdist; refusing it")
    elif member.isreg():
        files.add(name)
    elif not member.isdir():
        raise FormatError(f"{where} has an unsupported type ({member.type!r}); refusing it")


def _inside(path: str, stem: str) -> bool:
    return path == stem or path.startswith(stem + "/")


def _read_pkg_info(tar: tarfile.TarFile, member: tarfile.TarInfo, origin: str) -> bytes:
    if not member.isreg():
        raise FormatError(f"{origin}: PKG-INFO is not a regular file; refusing it")
    if member.size > MAX_PKG_INFO:
        raise FormatError(f"{origin}: PKG-INFO is {member.size} bytes, more than {MAX_PKG_INFO}; refusing it")
    handle = tar.extractfile(member)
    if handle is None:  # pragma: no cover - regular files always have a handle
        raise FormatError(f"{origin}: PKG-INFO cannot be read")
    data = handle.read(MAX_PKG_INFO + 1)
    if len(data) != member.size:
        raise FormatError(f"{origin}: PKG-INFO is truncated")
    return data


def _check_end(tar: tarfile.TarFile, ended: bool, origin: str) -> None:
    """The archive ends with an end-of-archive block, and only zeros follow it.

    Anything after it would be hidden from readers that stop there and seen by those that go on.
    """
    if not ended:
        raise FormatError(f"{origin}: the tar archive is truncated or has a damaged header (no end-of-archive block); build or download it again")
    stream = tar.fileobj
    assert stream is not None
    while chunk := stream.read(_CHUNK):
        if chunk.strip(b"\0"):
            raise FormatError(f"{origin}: data after the end of the tar archive (a damaged header or hidden members); refusing it")


# -- wheels -------------------------------------------------------------------------------------


def check_wheel_tags(wheel: zipfile.ZipFile, filename: str) -> None:
    """Check a wheel's ``.dist-info/WHEEL`` against its file name.

    Refused (one line): no or several ``WHEEL`` files, a huge or unreadable one, a missing or
    unsupported ``Wheel-Version`` (not 1.x), ``Root-Is-Purelib`` other than ``true``/``false``, no
    ``Tag`` line, ``Tag`` lines (compressed tag sets expanded) that differ from the file name's
    tags, and a ``Build`` that differs from the file name's build tag.
    """
    origin = _plain(filename)
    try:
        _name, _version, build, name_tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        raise FormatError(f"{origin} is not a valid wheel file name") from None
    fields = _wheel_fields(wheel, origin)
    versions = fields.get_all("Wheel-Version") or []
    match = _WHEEL_VERSION.match(versions[0].strip()) if len(versions) == 1 else None
    if match is None:
        raise FormatError(f"{origin}: WHEEL has no valid Wheel-Version line; rebuild the wheel")
    if match[1] != "1":
        raise FormatError(f"{origin}: Wheel-Version {match[0]} is not supported (only 1.x); rebuild the wheel or upgrade poetry-pipper")
    purelib = fields.get_all("Root-Is-Purelib") or []
    if len(purelib) != 1 or purelib[0].strip().lower() not in ("true", "false"):
        raise FormatError(f"{origin}: WHEEL needs exactly one Root-Is-Purelib line saying true or false; rebuild the wheel")
    wheel_tags = _wheel_tag_lines(fields.get_all("Tag") or [], origin)
    if wheel_tags != name_tags:
        raise FormatError(
            f"{origin}: its WHEEL file says tags {_tag_list(wheel_tags - name_tags)}, its file name says "
            f"{_tag_list(name_tags - wheel_tags)}: the file was renamed or built wrongly; rebuild it"
        )
    builds = fields.get_all("Build") or []
    name_build = f"{build[0]}{build[1]}" if build else None
    if builds and [b.strip() for b in builds] != [name_build]:
        raise FormatError(f"{origin}: WHEEL says Build {_show(builds[0].strip())}, the file name says {name_build or 'none'}; rebuild it")


def check_wheel_members(wheel: zipfile.ZipFile, filename: str) -> None:
    """Refuse a wheel whose members could escape an installation or exhaust the disk.

    Installers guard against these too; a repository must not serve them in the first place, and
    ``pipper install`` checks the wheels it downloads again before pip sees them. Refused: more than
    :data:`MAX_WHEEL_MEMBERS` members, absolute paths, ``..`` components, backslashes and control
    characters in names, duplicate names, symlinks, more than :data:`MAX_WHEEL_UNPACKED` bytes
    unpacked, and a member compressed more than 100:1 beyond 10 MB (a zip bomb).
    """
    origin = _plain(filename)
    members = wheel.infolist()
    if len(members) > MAX_WHEEL_MEMBERS:
        raise FormatError(f"{origin}: more than {MAX_WHEEL_MEMBERS} members; refusing it")
    seen: set[str] = set()
    total = 0
    for info in members:
        name = info.filename
        where = f"{origin}: member {_show(name)}"
        if len(name) > MAX_MEMBER_NAME:
            raise FormatError(f"{where[:200]} has a name longer than {MAX_MEMBER_NAME} characters; refusing it")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
            raise FormatError(f"{where} is an absolute path; refusing it")
        if ".." in name.split("/"):
            raise FormatError(f"{where} has a '..' component; refusing it")
        if "\\" in name or not name.isprintable():
            raise FormatError(f"{where} is not a plain relative path; refusing it")
        if name in seen:
            raise FormatError(f"{where} appears twice; refusing it")
        seen.add(name)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise FormatError(f"{where} is a symlink; refusing it")
        if info.file_size > 10 * 1024 * 1024 and info.file_size > 100 * max(info.compress_size, 1):
            raise FormatError(f"{where} has a suspicious compression ratio; refusing it")
        total += info.file_size
        if total > MAX_WHEEL_UNPACKED:
            raise FormatError(f"{origin}: more than {MAX_WHEEL_UNPACKED} bytes unpacked; refusing it")


def _wheel_fields(wheel: zipfile.ZipFile, origin: str) -> Any:
    candidates = [n for n in wheel.namelist() if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")]
    if len(candidates) != 1:
        raise FormatError(f"{origin}: expected one .dist-info/WHEEL, found {len(candidates)}")
    if wheel.getinfo(candidates[0]).file_size > MAX_WHEEL_FILE:
        raise FormatError(f"{origin}: its WHEEL file is implausibly large")
    try:
        text = wheel.read(candidates[0]).decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{origin}: its WHEEL file is not UTF-8 text") from None
    return email.parser.Parser(policy=email.policy.compat32).parsestr(text, headersonly=True)


def _wheel_tag_lines(lines: list[str], origin: str) -> frozenset[Tag]:
    if not lines:
        raise FormatError(f"{origin}: its WHEEL file has no Tag line; rebuild the wheel")
    found: set[Tag] = set()
    for line in lines:
        try:
            found.update(parse_tag(line.strip()))
        except ValueError:
            raise FormatError(f"{origin}: its WHEEL file has a malformed Tag line {_show(line.strip(), 80)}") from None
    return frozenset(found)


def _tag_list(tags: frozenset[Tag], limit: int = 3) -> str:
    names = sorted(str(t) for t in tags)
    shown = ", ".join(_show(n, 60)[1:-1] for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") if names else "nothing more"


def _show(text: str, limit: int = 120) -> str:
    """Untrusted text made safe to print on one line: quoted, escaped, shortened."""
    shown = repr(text[:limit])
    return shown[:-1] + "...'" if len(text) > limit else shown


def _plain(text: str) -> str:
    """A file name as is when it is short and printable, else quoted and escaped."""
    return text if text.isprintable() and len(text) <= 120 else _show(text)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
