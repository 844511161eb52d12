"""Reading untrusted JSON documents: bounded parsing and field checks with one-line errors.

Everything read from a bucket (indexes, records, the root list), from a pre-authorized file, from
the config file or from a bundle is hostile until checked: anyone with write access can put
anything there. :func:`parse_json` bounds the size and the nesting depth before ``json`` sees the
bytes; :class:`Fields` reads one object's fields, each checked for its type and its syntax (PEP 503
names, PEP 440 versions, 64-hex sha256, PEP 508 requirements, file names of distributions) and
raises :class:`~poetry_pipper.errors.FormatError` naming the document and the field.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .display import printable
from .errors import FormatError

#: Deeper than any document pipper writes (the deepest, an index, nests 5 levels).
MAX_DEPTH = 32
MAX_TEXT = 10_000
MAX_LIST = 10_000
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_NORMALIZED = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_STRUCTURE = re.compile(rb'[\[\]{}"]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: A wheel's or an sdist's file name: name, version, build tag and tags use no other characters.
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
MAX_FILENAME = 300
T = TypeVar("T")


def _depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects, outside strings; linear in the size."""
    depth = deepest = 0
    in_string = False
    for match in _STRUCTURE.finditer(data):
        char = match.group()
        if char == b'"':
            if not in_string or not _escaped_quote(data, match.start()):
                in_string = not in_string
        elif in_string:
            continue
        elif char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _escaped_quote(data: bytes, at: int) -> bool:
    """Whether the quote at ``at`` is escaped: an odd number of backslashes right before it."""
    count = 0
    while at - count - 1 >= 0 and data[at - count - 1] == 0x5C:
        count += 1
    return count % 2 == 1


class Unreadable(ValueError):
    """Why bytes are not a JSON document pipper reads; the reason never quotes the data."""


def load_bounded(data: bytes | str, *, max_bytes: int) -> Any:
    """``json.loads`` with a size and a nesting-depth bound (no RecursionError, time linear in the size).

    Raises :class:`Unreadable` with a reason that never quotes the data (it may hold secrets).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise Unreadable(f"is {len(raw)} bytes, more than the {max_bytes} allowed")
    if _depth(raw) > MAX_DEPTH:
        raise Unreadable(f"is nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8, or unreadable"
        raise Unreadable(f"is not valid JSON ({reason}{where})") from None


def parse_json(data: bytes, origin: str, *, max_bytes: int, repair: str) -> Any:
    """Parse ``data`` with a size and a depth bound; ``repair`` says what fixes a bad document."""
    try:
        return load_bounded(data, max_bytes=max_bytes)
    except Unreadable as exc:
        raise FormatError(f"{origin} {exc}; {repair}") from None


def clean(text: str) -> bool:
    """No control characters (terminal escapes, NUL, newlines)."""
    return not _CONTROL.search(text)


def rfc3339(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime.datetime | None:
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=datetime.UTC)


class Fields:
    """The checked fields of one JSON object of a document (``where`` names it in errors)."""

    def __init__(self, value: Any, origin: str, where: str, repair: str) -> None:
        self.origin, self.where, self.repair = origin, where, repair
        if not isinstance(value, dict):
            self.fail("is not a JSON object")
        self.data: dict[str, Any] = value

    def fail(self, what: str) -> FormatError:
        where = f" ({self.where})" if self.where else ""
        raise FormatError(f"{self.origin}{where}: {what}; {self.repair}")

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def _typed(self, key: str, kind: type[T], name: str, *, required: bool, default: T) -> T:
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail(f"{key!r} is missing")
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(f"{key!r} must be {name}")
        return value  # type: ignore[no-any-return]

    def text(self, key: str, *, required: bool = False, default: str = "", limit: int = MAX_TEXT,
             allow_control: bool = False, neutralize: bool = False) -> str:
        """A string; ``neutralize``: text only ever shown (a summary, a yank reason), whose control
        characters are replaced by visible escapes (``\\x1b``) instead of refusing the document."""
        value = self._typed(key, str, "a string", required=required, default=default)
        if len(value) > limit:
            self.fail(f"{key!r} is longer than {limit} characters")
        if neutralize:
            return printable(value)
        if not allow_control and not clean(value):
            self.fail(f"{key!r} holds control characters")
        return value

    def optional_text(self, key: str, *, limit: int = MAX_TEXT) -> str | None:
        return self.text(key, limit=limit) or None

    def integer(self, key: str, *, required: bool = False, minimum: int = 0) -> int:
        value = self._typed(key, int, "a whole number", required=required, default=0)
        if value < minimum:
            self.fail(f"{key!r} must be at least {minimum}")
        return value

    def boolean(self, key: str) -> bool:
        return self._typed(key, bool, "true or false", required=False, default=False)

    def obj(self, key: str, *, required: bool = False) -> dict[str, Any]:
        return self._typed(key, dict, "a JSON object", required=required, default={})

    def strings(self, key: str, *, check: Callable[[str], bool] | None = None, what: str = "") -> list[str]:
        values = self._typed(key, list, "a list of strings", required=False, default=[])
        if len(values) > MAX_LIST:
            self.fail(f"{key!r} has more than {MAX_LIST} entries")
        for item in values:
            if not isinstance(item, str):
                self.fail(f"{key!r} must be a list of strings, not a list holding {type(item).__name__}")
            if len(item) > MAX_TEXT or not clean(item):
                self.fail(f"{key!r} holds an overlong string or control characters")
            if check is not None and not check(item):
                self.fail(f"{key!r} holds {item[:80]!r}, which is not {what}")
        return list(values)

    def sha256(self, key: str, *, required: bool = True) -> str:
        value = self.text(key, required=required)
        if value and not _SHA256.match(value):
            self.fail(f"{key!r} is not a sha256 (64 lowercase hex characters)")
        return value

    def name(self, key: str) -> str:
        """A project name as published (PEP 508 name syntax)."""
        value = self.text(key, required=True, limit=200)
        if not is_project_name(value):
            self.fail(f"{key!r} is not a valid project name")
        return value

    def version(self, key: str) -> str:
        """A PEP 440 version, normalized."""
        value = self.text(key, required=True, limit=200)
        try:
            return str(Version(value))
        except InvalidVersion:
            self.fail(f"{key!r} is not a PEP 440 version")
            raise AssertionError("unreachable") from None

    def time(self, key: str) -> str:
        value = self.text(key, limit=64)
        if value and parse_time(value) is None:
            self.fail(f"{key!r} is not an RFC 3339 time")
        return value


def file_kind(filename: str, project: str, version: str) -> str | None:
    """``wheel`` or ``sdist`` when ``filename`` is a file name of ``project`` ``version``, else None.

    Only the characters a distribution's file name can hold (PEP 427/625 escape the rest): no path
    separator, no ``..`` of its own, no markup, no control character -- ``parse_wheel_filename``
    alone accepts anything in a platform tag.
    """
    if len(filename) > MAX_FILENAME or not _FILENAME.match(filename):
        return None
    try:
        if filename.endswith(".whl"):
            name, parsed, _build, _tags = parse_wheel_filename(filename)
            kind = "wheel"
        elif filename.endswith(".tar.gz"):
            name, parsed = parse_sdist_filename(filename)
            kind = "sdist"
        else:
            return None
        wanted = Version(version)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return kind if name == canonicalize_name(project) and parsed == wanted else None


def is_normalized_name(text: str) -> bool:
    return bool(_NORMALIZED.match(text)) and len(text) <= 200


def is_requirement(text: str) -> bool:
    try:
        Requirement(text)
    except InvalidRequirement:
        return False
    return True


def is_project_name(text: Any) -> bool:
    """A project name as published: PEP 508 name syntax, ASCII."""
    return isinstance(text, str) and text.isascii() and len(text) <= 200 and bool(_NAME.match(text))
