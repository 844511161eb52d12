"""Lock and requirements files read into pins: the versions that `pipper prune --keep-locked` never removes.

Formats (detected from the file name, then from the content):

* ``poetry.lock`` (Poetry 1.x and 2.x): ``[[package]]`` name and version, sha256 from ``files = [{file, hash}]``
  (Poetry < 1.5 kept them in ``[metadata.files]``, read too);
* ``uv.lock``: ``[[package]]`` name and version, sha256 from ``sdist`` and ``wheels``; local packages
  (virtual, editable, directory, workspace members) that have no version pin nothing and are skipped;
* ``pylock.toml`` and ``pylock.<name>.toml`` (PEP 751): ``[[packages]]`` name and version, sha256 from
  ``wheels``, ``sdist`` and ``archive``; version-less ``vcs``/``directory`` packages are skipped;
* requirements files: ``name==version``, ``name===version``, ``--hash=sha256:...``, ``name @ url#sha256=...``
  (the version is read from the URL's wheel or sdist file name), backslash continuations, comments,
  environment markers, ``-r``/``-c`` includes (relative to the including file, each file read once);
  option lines (``-i``, ``--extra-index-url``, ``-f``, ``--no-binary``, ...) and ``-e`` lines are skipped.

What protects what (:class:`Protection`), conservatively: a pin protects its name and version whatever its
environment markers; a pin without a local label (``1.0``) also protects that version's local variants
(``1.0+build.7``), as PEP 440's ``==1.0`` would match them; and a pin's sha256 protects any version of that
name holding a file with that hash. A requirement that pins no version (``foo>=1``, ``foo``, a URL without a
version or a hash) protects nothing: it is returned as a warning, never dropped silently.

The files are untrusted input: their size, the number of entries and included files are bounded, the
parsing is linear in the input, and every malformed entry is a one-line :class:`FormatError` naming the
file, the entry and what to do.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .errors import FormatError, PipperError

#: Bytes read for one file together with everything it includes (``-r``/``-c``).
MAX_BYTES = 64 * 1024 * 1024
#: Packages, requirement lines and hashes in one file together with its includes.
MAX_ENTRIES = 1_000_000
#: Files reached from one file through ``-r``/``-c`` includes (itself included).
MAX_FILES = 256
#: The longest name, version or requirement (without its options) accepted.
MAX_FIELD = 4096

KNOWN_FORMATS = ("poetry.lock", "uv.lock", "pylock.toml", "requirements")
_KNOWN_TEXT = ("poetry.lock, uv.lock, pylock.toml or pylock.NAME.toml (PEP 751), "
               "or a requirements file (name==version, --hash=sha256:...)")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_PYLOCK_NAME = re.compile(r"pylock\.[^.]+\.toml")
_INCLUDE_OPTIONS = {"-r": "requirement", "--requirement": "requirement", "-c": "constraint",
                    "--constraint": "constraint"}
_EDITABLE_OPTIONS = {"-e", "--editable"}
#: Options that take a value and change nothing about which versions are pinned.
_VALUE_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host",
                  "--no-binary", "--only-binary", "--use-feature", "-C", "--config-settings",
                  "--global-option", "--install-option", "--hash", "--progress-bar"}
_FLAG_OPTIONS = {"--no-index", "--pre", "--prefer-binary", "--require-hashes", "-Z", "--always-unzip",
                 "--no-deps", "--upgrade", "-U", "--no-build-isolation"}
#: uv.lock sources and pylock.toml keys of local projects: they have no index version to protect.
_UV_LOCAL_SOURCES = {"virtual", "editable", "directory", "workspace"}
_PYLOCK_LOCAL_KEYS = {"vcs", "directory"}


@dataclass(frozen=True)
class LockedPin:
    """One locked package: a name, the version it pins (None: only its hashes protect) and where it was read."""

    name: NormalizedName
    version: Version | None
    sha256: frozenset[str]
    origin: str


@dataclass(frozen=True)
class LockFile:
    """What one file (with its includes) pins, and the entries that pin nothing."""

    path: str
    format: str
    pins: tuple[LockedPin, ...]
    warnings: tuple[str, ...]


def show(value: object, limit: int = 60) -> str:
    """An untrusted value for a message: quoted, control and format characters escaped, shortened."""
    text = value if isinstance(value, str) else type(value).__name__
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


# -- reading files -----------------------------------------------------------------------------


@dataclass
class _Reader:
    """Pins and warnings collected from one top-level file and its includes, within the budgets."""

    top: str
    pins: list[LockedPin] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    entries: int = 0
    bytes: int = 0
    seen: set[str] = field(default_factory=set)

    def count(self, where: str, amount: int = 1) -> None:
        self.entries += amount
        if self.entries > MAX_ENTRIES:
            raise FormatError(f"{where}: more than {MAX_ENTRIES:,} entries (with its includes); "
                              "split the file or pass only the locks prune must honour")

    def pin(self, name: NormalizedName, version: Version | None, hashes: Iterable[str], origin: str) -> None:
        self.pins.append(LockedPin(name, version, frozenset(hashes), origin))

    def warn(self, message: str) -> None:
        self.count(message)
        self.warnings.append(message)

    def read_text(self, path: Path, display: str) -> str:
        if len(self.seen) > MAX_FILES:
            raise FormatError(f"{display}: more than {MAX_FILES} files reached through -r/-c includes from "
                              f"{self.top}; flatten the includes")
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                raise FormatError(f"cannot read {display}: not a regular file; pass a lock or requirements file")
            with open(path, "rb") as handle:
                data = handle.read(MAX_BYTES - self.bytes + 1)
        except FileNotFoundError:
            raise FormatError(f"cannot read {display}: no such file; check the path") from None
        except OSError as exc:
            raise FormatError(f"cannot read {display}: {exc.strerror or exc}; check the path and its permissions") \
                from None
        self.bytes += len(data)
        if self.bytes > MAX_BYTES:
            raise FormatError(f"{display}: larger than {MAX_BYTES // 2**20} MiB (with its includes); "
                              "pass a lock file, not an arbitrary file")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormatError(f"{display}: not UTF-8 text (byte {exc.start}); pass a lock or requirements file") \
                from None


def _display(path: str | os.PathLike[str]) -> str:
    """A path for messages and origins: as given, or escaped when it holds control characters."""
    text = os.fspath(path)
    return text if text.isprintable() else show(text, 300)


def read_lock(path: str | os.PathLike[str], *, kind: str | None = None) -> LockFile:
    """Read one lock or requirements file (``kind``: one of :data:`KNOWN_FORMATS`, else detected)."""
    display = _display(path)
    reader = _Reader(display)
    file = Path(os.fspath(path))
    reader.seen.add(_identity(file))
    text = reader.read_text(file, display)
    if kind is None:
        kind = detect_format(display, text)
    elif kind not in KNOWN_FORMATS:
        raise PipperError(f"unknown lock format {show(kind)}: use one of {', '.join(KNOWN_FORMATS)}")
    if kind == "requirements":
        _read_requirements(text, file, display, reader)
    else:
        _TOML_READERS[kind](_load_toml(text, display), display, reader)
    return LockFile(display, kind, tuple(reader.pins), tuple(reader.warnings))


def detect_format(path: str, text: str) -> str:
    """The format of a file: from its name (poetry.lock, uv.lock, pylock[.NAME].toml, *.txt, *.in), else its content."""
    name = os.path.basename(path).lower()
    if name in ("poetry.lock", "uv.lock", "pylock.toml"):
        return name
    if _PYLOCK_NAME.fullmatch(name):
        return "pylock.toml"
    if name.endswith((".txt", ".in")) or "requirements" in name or "constraints" in name:
        return "requirements"
    try:
        data: Any = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        data = None
    if isinstance(data, dict):
        if "lock-version" in data and "packages" in data:
            return "pylock.toml"
        if isinstance(data.get("metadata"), dict) and "content-hash" in data["metadata"]:
            return "poetry.lock"
        if "version" in data and "package" in data:
            return "uv.lock"
    elif _looks_like_requirements(text):
        return "requirements"
    raise FormatError(f"{path}: cannot tell its format from its name or content; known formats: {_KNOWN_TEXT}. "
                      "Name the file after its format (e.g. requirements.txt, poetry.lock)")


def _looks_like_requirements(text: str) -> bool:
    """Every logical line is empty, a comment, an option, or a valid requirement; at least one requirement."""
    found = False
    for _, line in _logical_lines(text):
        line = _strip_comment(line).strip()
        if not line or line.startswith("-"):
            continue
        try:
            Requirement(_split_options(line)[0][:MAX_FIELD])
        except InvalidRequirement:
            return False
        found = True
    return found


def _identity(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):
        return os.path.abspath(path)


# -- values shared by all formats -------------------------------------------------------------


def _name(value: object, where: str) -> NormalizedName:
    if not isinstance(value, str) or not value:
        raise FormatError(f"{where}: the name is {'missing' if value is None else show(value)}, not a package "
                          "name; fix the entry or regenerate the file")
    try:
        if len(value) > MAX_FIELD:
            raise InvalidName(value)
        return canonicalize_name(value, validate=True)
    except InvalidName:
        raise FormatError(f"{where}: {show(value)} is not a PEP 508 package name; fix the entry or regenerate "
                          "the file") from None


def _version(value: object, where: str) -> Version:
    if not isinstance(value, str):
        raise FormatError(f"{where}: the version is {'missing' if value is None else show(value)}, not a "
                          "PEP 440 version; fix the entry or regenerate the file")
    try:
        if len(value) > MAX_FIELD:
            raise InvalidVersion(value)
        return Version(value)
    except InvalidVersion:
        raise FormatError(f"{where}: {show(value)} is not a PEP 440 version; fix the entry or regenerate the file") \
            from None


def _sha256(value: object, where: str) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise FormatError(f"{where}: sha256 {show(value)} is not 64 hex digits; fix the hash or regenerate the file")
    return value.lower()


def _prefixed_hash(value: object, where: str) -> str | None:
    """``sha256:<hex>`` -> the hex digest; another algorithm (``sha512:...``) -> None."""
    if not isinstance(value, str) or ":" not in value:
        raise FormatError(f"{where}: hash {show(value)} is not 'ALGORITHM:HEX'; fix the hash or regenerate the file")
    algorithm, _, digest = value.partition(":")
    return _sha256(digest, where) if algorithm.lower() == "sha256" else None


def _filename_version(name: NormalizedName, location: str) -> Version | None:
    """The version in a wheel or sdist file name (the last path segment of a URL or path), if it names ``name``."""
    named = _named_file(location)
    return named[1] if named is not None and named[0] == name else None


def _named_file(location: str) -> tuple[NormalizedName, Version] | None:
    """The project and version a wheel or sdist file name says (the last segment of a URL or path), if any."""
    filename = unquote(urlsplit(location).path.replace("\\", "/").rsplit("/", 1)[-1])
    try:
        if filename.endswith(".whl"):
            found, version, _, _ = parse_wheel_filename(filename)
            return found, version
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        pass
    return None


# -- TOML lock files -------------------------------------------------------------------------


def _load_toml(text: str, display: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(f"{display}: not valid TOML ({exc}); regenerate the lock file") from None
    except RecursionError:
        raise FormatError(f"{display}: not valid TOML (nested too deeply); regenerate the lock file") from None


def _tables(data: Mapping[str, Any], key: str, display: str, what: str) -> list[Mapping[str, Any]]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise FormatError(f"{display}: '{key}' is not a list of tables ([[{key}]]); {what}")
    return entries


def _table(entry: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, dict):
        raise FormatError(f"{where}: '{key}' is {show(value)}, not a table; fix the entry or regenerate the file")
    return value


def _list(entry: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = entry.get(key, [])
    if not isinstance(value, list):
        raise FormatError(f"{where}: '{key}' is {show(value)}, not a list; fix the entry or regenerate the file")
    return value


def _check_lock_version(value: object, known: tuple[int, ...], display: str, key: str) -> None:
    if value is None:
        raise FormatError(f"{display}: no {key} field, so not a lock file pipper knows; regenerate it")
    major = str(value).split(".", 1)[0]
    if not major.isdigit() or int(major) not in known:
        raise FormatError(f"{display}: {key} {show(str(value))} is not one pipper reads "
                          f"({', '.join(str(k) for k in known)}.x); upgrade poetry-pipper, or regenerate the file")


def _read_poetry(data: Mapping[str, Any], display: str, reader: _Reader) -> None:
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        raise FormatError(f"{display}: no [metadata] table, so not a Poetry lock file; pass the poetry.lock "
                          "that `poetry lock` wrote")
    _check_lock_version(metadata.get("lock-version", "1.0"), (1, 2), display, "lock-version")
    legacy = _table(metadata, "files", f"{display}: [metadata]") or {}  # Poetry < 1.5
    legacy_files = {canonicalize_name(str(key)): value for key, value in legacy.items()}
    packages = _tables(data, "package", display, "regenerate it with `poetry lock`")
    reader.count(display, len(packages))
    for number, entry in enumerate(packages, 1):
        where = f"{display}: package {number}"
        name = _name(entry.get("name"), where)
        where = f"{where} ({name})"
        version = _version(entry.get("version"), where)
        files = entry["files"] if "files" in entry else legacy_files.get(name, [])
        if not isinstance(files, list):
            raise FormatError(f"{where}: 'files' is {show(files)}, not a list; regenerate it with `poetry lock`")
        reader.count(where, len(files))
        hashes = set()
        for item in files:
            if not isinstance(item, dict):
                raise FormatError(f"{where}: a file entry is {show(item)}, not a table; regenerate it with "
                                  "`poetry lock`")
            if "hash" in item:
                digest = _prefixed_hash(item["hash"], where)
                if digest:
                    hashes.add(digest)
        reader.pin(name, version, hashes, f"{display} ({name} {version})")


def _read_uv(data: Mapping[str, Any], display: str, reader: _Reader) -> None:
    _check_lock_version(data.get("version"), (1,), display, "version")
    packages = _tables(data, "package", display, "regenerate it with `uv lock`")
    reader.count(display, len(packages))
    for number, entry in enumerate(packages, 1):
        where = f"{display}: package {number}"
        name = _name(entry.get("name"), where)
        where = f"{where} ({name})"
        source = _table(entry, "source", where) or {}
        files = [_table(entry, "sdist", where), *_list(entry, "wheels", where)]
        reader.count(where, len(files))

        def uv_hash(item: Mapping[str, Any], where: str = where) -> str | None:
            return _prefixed_hash(item["hash"], where) if "hash" in item else None

        hashes, locations = _files(files, where, uv_hash, ("url", "path", "filename"), "regenerate it with `uv lock`")
        if "version" in entry:
            version: Version | None = _version(entry["version"], where)
        elif _UV_LOCAL_SOURCES & source.keys():
            continue  # a local project (virtual, editable, workspace member): nothing on an index to protect
        else:
            version = _version_from_files(name, locations)
        _pin_or_warn(reader, name, version, hashes, display, where)


def _read_pylock(data: Mapping[str, Any], display: str, reader: _Reader) -> None:
    if "lock-version" not in data:
        raise FormatError(f"{display}: no lock-version, so not a PEP 751 lock file; regenerate it "
                          "(e.g. `uv export --format pylock.toml`)")
    _check_lock_version(data["lock-version"], (1,), display, "lock-version")
    packages = _tables(data, "packages", display, "regenerate it (e.g. `uv export --format pylock.toml`)")
    reader.count(display, len(packages))
    for number, entry in enumerate(packages, 1):
        where = f"{display}: packages {number}"
        name = _name(entry.get("name"), where)
        where = f"{where} ({name})"
        files = [_table(entry, "sdist", where), _table(entry, "archive", where), *_list(entry, "wheels", where)]
        reader.count(where, len(files))

        def pylock_hash(item: Mapping[str, Any], where: str = where) -> str | None:
            digests = _table(item, "hashes", where) or {}
            return _sha256(digests["sha256"], where) if "sha256" in digests else None

        hashes, locations = _files(files, where, pylock_hash, ("name", "url", "path"), "regenerate the file")
        if "version" in entry:
            version: Version | None = _version(entry["version"], where)
        elif _PYLOCK_LOCAL_KEYS & entry.keys():
            continue  # a source tree or a VCS checkout: nothing on an index to protect
        else:
            version = _version_from_files(name, locations)
        _pin_or_warn(reader, name, version, hashes, display, where)


def _files(
    files: Iterable[Any], where: str, digest: Callable[[Mapping[str, Any]], str | None], keys: tuple[str, ...],
    regenerate: str,
) -> tuple[set[str], list[str]]:
    """The sha256 hashes and the locations (URLs, paths, file names) of a lock entry's file tables."""
    hashes: set[str] = set()
    locations: list[str] = []
    for item in files:
        if item is None:
            continue
        if not isinstance(item, dict):
            raise FormatError(f"{where}: a wheel entry is {show(item)}, not a table; {regenerate}")
        found = digest(item)
        if found:
            hashes.add(found)
        locations += [str(item[key]) for key in keys if key in item]
    return hashes, locations


def _version_from_files(name: NormalizedName, locations: Iterable[str]) -> Version | None:
    versions = {v for v in (_filename_version(name, location) for location in locations) if v is not None}
    return versions.pop() if len(versions) == 1 else None


def _pin_or_warn(reader: _Reader, name: NormalizedName, version: Version | None, hashes: set[str],
                 display: str, where: str) -> None:
    if version is None and not hashes:
        reader.warn(f"{where}: no version and no sha256, so it protects nothing")
        return
    label = f"{name} {version}" if version is not None else f"{name}, by sha256"
    reader.pin(name, version, hashes, f"{display} ({label})")


_TOML_READERS = {"poetry.lock": _read_poetry, "uv.lock": _read_uv, "pylock.toml": _read_pylock}


# -- requirements files -----------------------------------------------------------------------


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined, as pip joins them."""
    parts: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), 1):
        comment = line.lstrip().startswith("#")
        if line.endswith("\\") and not comment:
            if not parts:
                first = number
            parts.append(line[:-1])
            continue
        if parts:
            parts.append("" if comment else line)
            yield first, "".join(parts)
            parts = []
        else:
            yield number, line
    if parts:
        yield first, "".join(parts)


def _strip_comment(line: str) -> str:
    """Cut at the first ``#`` that starts the line or follows whitespace (``url#sha256=`` is no comment)."""
    index = line.find("#")
    while index != -1:
        if index == 0 or line[index - 1].isspace():
            return line[:index]
        index = line.find("#", index + 1)
    return line


def _split_options(line: str) -> tuple[str, list[str]]:
    """A requirement line -> (the requirement, its option tokens), split at the first token starting with '-'."""
    tokens = line.split()
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:index]), tokens[index:]
    return line, []


def _read_requirements(text: str, path: Path, display: str, reader: _Reader) -> None:
    for number, raw in _logical_lines(text):
        line = _strip_comment(raw).strip()
        if not line:
            continue
        where = f"{display}:{number}"
        reader.count(where)
        if line.startswith("-"):
            _option_line(line, path, where, reader)
        else:
            _requirement_line(line, where, reader)


def _option_line(line: str, path: Path, where: str, reader: _Reader) -> None:
    try:
        tokens = shlex.split(line)
    except ValueError as exc:
        raise FormatError(f"{where}: cannot split the option line ({exc}); fix the quoting") from None
    option, value = tokens[0], tokens[1] if len(tokens) > 1 else None
    if option.startswith("--") and "=" in option:
        option, _, value = option.partition("=")
    elif not option.startswith("--") and len(option) > 2:
        option, value = option[:2], option[2:]
    if option in _INCLUDE_OPTIONS:
        if not value:
            raise FormatError(f"{where}: {option} names no file; give the file to include")
        _include(value, path, where, reader)
    elif option in _EDITABLE_OPTIONS:
        return  # a local or VCS project installed from source: nothing on an index to protect
    elif option not in _VALUE_OPTIONS and option not in _FLAG_OPTIONS:
        reader.warn(f"{where}: unknown option {show(option)} skipped")


def _include(value: str, path: Path, where: str, reader: _Reader) -> None:
    if "://" in value:
        raise FormatError(f"{where}: cannot follow the include {show(value)} (a URL); download it and pass "
                          "the file with --keep-locked")
    target = Path(os.path.expanduser(value))
    if not target.is_absolute():
        target = path.parent / target
    identity = _identity(target)
    if identity in reader.seen:
        return  # read already (an include cycle or a diamond): its pins are counted once
    reader.seen.add(identity)
    display = _display(target)
    try:
        text = reader.read_text(target, display)
    except FormatError as exc:
        raise FormatError(f"{where}: {exc}") from None
    _read_requirements(text, target, display, reader)


def _hash_options(tokens: list[str], where: str) -> set[str]:
    hashes = set()
    values = iter(tokens)
    for token in values:
        if token == "--hash":
            value = next(values, "")
        elif token.startswith("--hash="):
            value = token[len("--hash="):]
        else:
            continue
        digest = _prefixed_hash(value, where)
        if digest:
            hashes.add(digest)
    return hashes


def _requirement_line(line: str, where: str, reader: _Reader) -> None:
    text, options = _split_options(line)
    hashes = _hash_options(options, where)
    reader.count(where, len(hashes))
    if len(text) > MAX_FIELD:
        raise FormatError(f"{where}: a requirement longer than {MAX_FIELD} characters; fix the line")
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        if _is_location(text):
            _location_line(text, hashes, where, reader)
            return
        reason = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise FormatError(f"{where}: {show(text)} is not a requirement ({reason}); fix the line") from None
    name = _name(requirement.name, where)
    versions: list[Version] = []
    if requirement.url:
        hashes |= _url_hashes(requirement.url, where)
        found = _filename_version(name, requirement.url)
        versions += [found] if found else []
    for spec in requirement.specifier:
        if spec.operator == "==" and not spec.version.endswith(".*"):
            versions.append(_version(spec.version, where))
        elif spec.operator == "===":
            try:
                versions.append(Version(spec.version))
            except InvalidVersion:
                reader.warn(f"{where}: {show(text)}: {show(spec.version)} is not a PEP 440 version, so it "
                            "matches nothing in a pipper repository")
    _pin_versions(reader, name, versions, hashes, text, where)


def _pin_versions(reader: _Reader, name: NormalizedName, versions: list[Version], hashes: set[str],
                  text: str, where: str) -> None:
    """Pins of one requirement line; ``where`` (FILE:LINE) is their origin."""
    for version in versions:
        reader.pin(name, version, hashes, f"{where} ({name}=={version})")
    if not versions:
        if hashes:
            reader.pin(name, None, hashes, f"{where} ({name}, by sha256)")
        else:
            reader.warn(f"{where}: {show(text)} pins no version (use name==version), so it protects nothing")


def _url_hashes(url: str, where: str) -> set[str]:
    fragment = urlsplit(url).fragment
    hashes = set()
    for part in fragment.split("&"):
        key, _, value = part.partition("=")
        if key.lower() == "sha256":
            hashes.add(_sha256(value, where))
    return hashes


def _is_location(text: str) -> bool:
    """A path or URL on a requirement line (``./dist/foo-1.0-py3-none-any.whl``, ``git+https://...``)."""
    return "/" in text or "\\" in text or text.startswith(".") or text.endswith((".whl", ".tar.gz", ".zip"))


def _location_line(text: str, hashes: set[str], where: str, reader: _Reader) -> None:
    hashes = hashes | _url_hashes(text, where)
    named = _named_file(text)
    if named is None:
        reader.warn(f"{where}: {show(text)} is no wheel or sdist file name with a version (a source tree or "
                    "a VCS URL?), so it protects nothing")
        return
    found, version = named
    _pin_versions(reader, found, [version], hashes, text, where)


# -- protection -------------------------------------------------------------------------------


class Protection:
    """All pins of all ``--keep-locked`` files, indexed: which origins protect a given version."""

    def __init__(self, pins: Iterable[LockedPin] = (), warnings: Iterable[str] = ()) -> None:
        self.pins = tuple(pins)
        self.warnings = tuple(warnings)
        self._versions: dict[tuple[NormalizedName, Version], list[str]] = {}
        self._hashes: dict[tuple[NormalizedName, str], list[str]] = {}
        for pin in self.pins:
            if pin.version is not None:
                self._versions.setdefault((pin.name, pin.version), []).append(pin.origin)
            for digest in pin.sha256:
                self._hashes.setdefault((pin.name, digest), []).append(pin.origin)

    @classmethod
    def from_files(cls, paths: Iterable[str | os.PathLike[str]]) -> Protection:
        """Read every file (each with its includes); a file that cannot be read is an error, never skipped."""
        pins: list[LockedPin] = []
        warnings: list[str] = []
        for path in paths:
            lock = read_lock(path)
            pins += lock.pins
            warnings += lock.warnings
        return cls(pins, warnings)

    def __len__(self) -> int:
        return len(self.pins)

    def protects(self, name: str, version: Version | str, file_sha256s: Iterable[str] = ()) -> list[str]:
        """The origins of the pins that protect ``name`` ``version`` (whose files have ``file_sha256s``), in order.

        By name and version (a pin without a local label also covers the local variants of its version), or by
        the sha256 of any of the version's files in a pin of the same name.
        """
        key = canonicalize_name(name)
        if not isinstance(version, Version):
            version = Version(version)
        found = list(self._versions.get((key, version), []))
        if version.local is not None:
            found += self._versions.get((key, Version(version.public)), [])
        for digest in file_sha256s:
            found += self._hashes.get((key, digest.lower()), [])
        return list(dict.fromkeys(found))
