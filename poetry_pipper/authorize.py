"""Pre-authorized downloads: SigV4 presigned GET links for a private closure, and their use.

``pipper authorize`` resolves the requested packages and their private dependencies (one
index GET per package, as ``pipper install`` does), then signs one GET link per wheel. No
request is made for the signing itself. The links come out in one of three forms:

* ``urls``: one URL per line (for scripts);
* ``json``: a *pre-authorized file*, which ``pipper install -i FILE`` and ``pipper download
  -i FILE`` use without any AWS credentials::

      {"format": "pipper-preauthorized", "format_version": 1, "created": "...Z",
       "expires": "...Z", "repository": "s3://bucket/prefix", "requested": ["foo:1.*"],
       "pre": false, "packages": [{"name": "foo", "version": "1.2.0", "url": "https://...",
       "sha256": "...", "expires": "...Z", "wheel_name": "...", "size": 1234,
       "requires_dist": [...], "requires_python": null, "dependencies": [...]}]}

* ``find-links``: a PEP 503-style HTML page of the links with ``#sha256=`` fragments, for
  ``pip install --find-links page.html NAME``. The page also embeds the JSON document in a
  ``<script type="application/json">`` element (which pip ignores), so pipper reads a page
  exactly like a file. pip and uv read such a page *together with* their indexes and take the
  highest version of a name from any of them: a public package that takes a private name with a
  higher version wins. The command warns about it.
* ``requirements``: a requirements file where every private package of the closure is a direct
  reference, ``name @ <presigned url>#sha256=<hex>``. A name given by a direct reference is taken
  from that URL only, whatever an index offers, so no public index can hijack it (pip, uv).

Expiry: every link carries ``X-Amz-Date`` and ``X-Amz-Expires``; the document's ``expires``
is the earliest of them. Consumers check it before downloading anything, and a 403 "Request
has expired" from the server gives the same one-line message.
"""

from __future__ import annotations

import datetime
import html
import http.client
import json
import os
import re
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from packaging.utils import canonicalize_name
from packaging.version import Version

from .download import integrity_error, verified_download
from .errors import FormatError, NotFound, PipperError, StorageError
from .index import DistFile, PackageIndex, Release
from .retry import retry
from .schema import MAX_LIST, Fields, Unreadable, clean, load_bounded
from .storage.base import Progress

if TYPE_CHECKING:
    from .location import Location
    from .repository import Repository
    from .resolve import Resolution
    from .specs import PackageSpec
    from .targets import Target

FILE_FORMAT = "pipper-preauthorized"
#: 2: an entry per file (wheels and sdists: ``filename``); 1 (still read): per wheel (``wheel_name``).
FILE_VERSION = 2
#: SigV4 presigned URLs last at most seven days.
MAX_EXPIRES = 7 * 24 * 3600
DEFAULT_EXPIRES = "1h"
FORMATS = ("urls", "json", "find-links", "requirements")
#: What ``pipper authorize --format find-links`` prints on stderr.
HIJACK_WARNING = (
    "warning: pip and uv read a find-links page together with their indexes and take the highest version of a"
    " name from any of them: a public package with a private name and a higher version would be installed instead"
    " (dependency confusion). Use --format requirements (direct references, which no index can override), or"
    " `pipper install -i`"
)
SCRIPT_ID = "pipper-preauthorized"
_CHUNK = 1024 * 1024
_ATTEMPTS = 3
#: A pre-authorized file or page is read whole; the spec-file reader's bound (specs.MAX_SPEC_FILE).
MAX_FILE = 16 * 1024 * 1024
MAX_URL = 16 * 1024

_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}
_DURATION = re.compile(r"^\s*(\d+)\s*([a-z]*)\s*$")
_SCRIPT = re.compile(
    rf'<script type="application/json" id="{SCRIPT_ID}">(.*?)</script>', re.DOTALL
)


class DurationError(PipperError):
    """An ``-e/--expires`` value that is not a duration pipper accepts."""


class Expired(PipperError):
    """A pre-authorized file or page whose links have expired."""

    def __init__(self, path: str, when: datetime.datetime) -> None:
        super().__init__(f"pre-authorized file {path} expired at {format_time(when)}: run `pipper authorize` again")


# -- durations and times ----------------------------------------------------------------


def parse_duration(text: str) -> int:
    """``12mins``, ``130m``, ``18s``, ``3hr``, ``2 days`` -> seconds; a bare number is minutes."""
    match = _DURATION.match(text or "")
    if match is None or match.group(2) not in ("", *_UNITS):
        raise DurationError(
            f"invalid duration {text!r} for -e/--expires: use a whole number and a unit (s, m/min,"
            " h/hr, d/day), e.g. 30s, 12mins, 3hr, 2 days; a bare number means minutes"
        )
    digits, unit = match.group(1), match.group(2)
    # More than nine digits is beyond seven days in any unit (and int() of it could be huge).
    seconds = MAX_EXPIRES + 1 if len(digits.lstrip("0")) > 9 else int(digits) * _UNITS[unit or "m"]
    if seconds == 0:
        raise DurationError(f"invalid duration {text!r} for -e/--expires: it must be more than zero")
    if seconds > MAX_EXPIRES:
        raise DurationError(
            f"duration {text!r} for -e/--expires is longer than 7 days, the most a SigV4 presigned"
            " URL can last: use at most 7d"
        )
    return seconds


def describe_duration(seconds: int) -> str:
    """``5400`` -> ``1 hour 30 minutes``."""
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts) or "0 seconds"


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def format_time(when: datetime.datetime) -> str:
    """The human form used in messages: ``2025-01-31 14:05:00 UTC``."""
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: Any, origin: str) -> datetime.datetime:
    try:
        when = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise FormatError(f"{origin}: {str(text)[:64]!r} is not a UTC time; run `pipper authorize` again") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when


# -- presigned URLs ---------------------------------------------------------------------


def _query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def check_sigv4(url: str) -> None:
    """Refuse anything but a SigV4 query-signed URL (never SigV2's ``AWSAccessKeyId``/``Signature``)."""
    query = _query(url)
    if "AWSAccessKeyId" in query or "Signature" in query or query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" \
            or "X-Amz-Signature" not in query:
        raise PipperError(
            "the S3 client made a presigned URL that is not SigV4 (X-Amz-Algorithm=AWS4-HMAC-SHA256);"
            " nothing was written: check AWS_CONFIG_FILE for signature_version = s3v4 and report it"
        )


def url_expiry(url: str) -> datetime.datetime | None:
    """When a SigV4 presigned URL stops working: ``X-Amz-Date`` plus ``X-Amz-Expires``."""
    query = _query(url)
    try:
        signed = datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        seconds = int(query["X-Amz-Expires"])
    except (KeyError, ValueError):
        return None
    return signed.replace(tzinfo=datetime.UTC) + datetime.timedelta(seconds=seconds)


def uses_temporary_credentials(url: str) -> bool:
    """Links signed with a session token die with the session, whatever ``-e`` said."""
    return "X-Amz-Security-Token" in _query(url)


def _http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _where(url: str) -> str:
    """Host and path of a URL, for messages: never the signature."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


# -- the document -----------------------------------------------------------------------


@dataclass(frozen=True)
class Authorized:
    """One file of a release and the presigned link that fetches it."""

    dist: DistFile
    url: str
    expires: datetime.datetime

    @property
    def name(self) -> str:
        return self.dist.name

    @property
    def version(self) -> str:
        return self.dist.version

    def to_json(self) -> dict[str, Any]:
        return {**self.dist.to_json(), "url": self.url, "expires": _iso(self.expires)}

    @classmethod
    def from_json(cls, data: Any, origin: str, version: int) -> Authorized:
        """An entry of a file of ``format_version`` 2 (a file), or 1 (a wheel: ``wheel_name``)."""
        again = "run `pipper authorize` again"
        if not isinstance(data, dict):
            raise FormatError(f"{origin}: a package entry is not a JSON object; {again}")
        try:
            dist = DistFile.from_v1(data, origin, "a package entry") if version == 1 \
                else DistFile.from_json(data, origin, "a package entry")
        except FormatError as exc:
            raise FormatError(f"{str(exc).rsplit('; ', 1)[0]}; {again}") from None
        url = data.get("url")
        if not isinstance(url, str) or len(url) > MAX_URL or not clean(url) or not _http_url(url):
            raise FormatError(f"{origin}: {dist.name} {dist.version} has no http(s) URL; {again}")
        expires = data.get("expires")
        return cls(dist, url, _parse_iso(expires if isinstance(expires, str) and len(expires) <= 64 else "", origin))


@dataclass(frozen=True)
class Preauthorized:
    """What ``pipper authorize`` writes: the links for a resolved private closure."""

    packages: list[Authorized]
    repository: str
    requested: list[str]
    pre: bool = False
    created: datetime.datetime = field(default_factory=utcnow)

    @property
    def expires(self) -> datetime.datetime:
        return min((p.expires for p in self.packages), default=self.created)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FILE_FORMAT,
            "format_version": FILE_VERSION,
            "created": _iso(self.created),
            "expires": _iso(self.expires),
            "repository": self.repository,
            "requested": list(self.requested),
            "pre": self.pre,
            "packages": [p.to_json() for p in self.packages],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], origin: str) -> Preauthorized:
        """Checked field by field (:mod:`.schema`): the file may have been edited or damaged on its way."""
        version = data.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise FormatError(f"{origin}: pre-authorized file without a format_version; run `pipper authorize` again")
        if version > FILE_VERSION:
            raise FormatError(
                f"{origin} is pre-authorized file format {version}, this pipper reads up to {FILE_VERSION}:"
                " upgrade poetry-pipper"
            )
        packages = data.get("packages")
        requested = data.get("requested")
        if not isinstance(packages, list) or not packages or not isinstance(requested, list):
            raise FormatError(f"{origin}: pre-authorized file without packages; run `pipper authorize` again")
        fields = Fields(data, origin, "", "run `pipper authorize` again")
        if len(packages) > MAX_LIST:
            fields.fail(f"'packages' has more than {MAX_LIST} entries")
        return cls(
            packages=[Authorized.from_json(p, origin, version) for p in packages],
            repository=fields.text("repository", limit=2048),
            requested=fields.strings("requested"),
            pre=fields.boolean("pre"),
            created=_parse_iso(fields.text("created", required=True, limit=64), origin),
        )


def check_authorizable(location: Location) -> None:
    """Refuse a local directory repository.

    Its ``file://`` links would neither expire nor work on another machine, and whoever can
    read the directory can install from it already.
    """
    if location.is_local:
        raise PipperError(
            f"pipper authorize needs an S3 repository, and {location} is a local directory:"
            " file:// links neither expire nor work elsewhere; install from the directory itself"
            " (pipper install -b DIR)"
        )


def output_format(fmt: str | None, output: str | None) -> str:
    """The ``--format`` to write: given, else ``json`` with ``-o`` and ``urls`` without; checked against ``-o``."""
    fmt = fmt or ("json" if output else "urls")
    if fmt not in FORMATS:
        raise PipperError(f"unknown --format {fmt!r}: use urls, json, find-links or requirements")
    if fmt == "find-links" and output and not output.lower().endswith((".html", ".htm")):
        raise PipperError(
            "--format find-links writes an HTML page that pip reads only if its name ends in .html:"
            f" use -o {Path(output).with_suffix('.html')}"
        )
    return fmt


def authorize(
    repo: Repository, specs: list[PackageSpec], expires_in: int, target: Target, *, pre: bool = False,
    allow_sdist: bool = True, warn: Callable[[str], None] | None = None,
) -> Preauthorized:
    """Resolve the private closure of ``specs`` for ``target`` (one index GET per package), then
    :func:`sign` the file chosen for each package; ``warn`` is told of each dependency left out."""
    from .install import resolve

    resolution = resolve(repo, specs, target, pre=pre, allow_sdist=allow_sdist)
    for line in resolution.warnings:
        if warn is not None:
            warn(line)
    return sign(repo, resolution, expires_in, requested=[s.text or str(s) for s in specs], pre=pre)


def sign(repo: Repository, resolution: Resolution, expires_in: int, *, requested: list[str], pre: bool = False) -> Preauthorized:
    """Presign one GET per release of the resolution: no request is made for that."""
    check_authorizable(repo.location)
    if not 0 < expires_in <= MAX_EXPIRES:
        raise DurationError(f"expiry of {expires_in} seconds is outside 1 second to 7 days")
    created = utcnow()
    packages = []
    for pick in resolution.ordered():
        url = repo.presign(pick.dist, expires_in)
        check_sigv4(url)
        expires = url_expiry(url) or created + datetime.timedelta(seconds=expires_in)
        packages.append(Authorized(pick.dist, url, expires))
    return Preauthorized(packages, str(repo.location), requested, pre, created)


# -- output -----------------------------------------------------------------------------


def render(doc: Preauthorized, fmt: str) -> str:
    if fmt == "urls":
        return "".join(f"{p.url}\n" for p in doc.packages)
    if fmt == "json":
        return json.dumps(doc.to_json(), indent=2, sort_keys=True) + "\n"
    if fmt == "find-links":
        return render_find_links(doc)
    if fmt == "requirements":
        return render_requirements(doc)
    raise PipperError(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")


_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.0">
    <meta name="pipper:expires" content="{expires_iso}">
    <title>Pre-authorized links from {repository}</title>
  </head>
  <body>
    <h1>Pre-authorized links from {repository}</h1>
    <p>Made by pipper authorize. These links expire at {expires}; after that, run
    <code>pipper authorize</code> again. Use with <code>pip install --find-links THIS_FILE NAME</code>.
    pip and uv take the highest version of a name from this page or any index: pin what you install,
    or use <code>pipper authorize --format requirements</code>, whose direct references no index can
    override. Never commit this page, or a lock made from it: the links are secrets until they expire.</p>
{links}
    <script type="application/json" id="{script_id}">{document}</script>
  </body>
</html>
"""


def render_find_links(doc: Preauthorized) -> str:
    """A PEP 503-style page of presigned links; pip reads the ``<a>`` elements, pipper the script."""
    links = []
    for p in sorted(doc.packages, key=lambda p: (p.dist.project, Version(p.dist.version), p.dist.filename)):
        attrs = [f'href="{html.escape(p.url + "#sha256=" + p.dist.sha256)}"']
        if p.dist.requires_python:
            attrs.append(f'data-requires-python="{html.escape(p.dist.requires_python)}"')
        links.append(f"    <a {' '.join(attrs)}>{html.escape(p.dist.filename)}</a><br>")
    # JSON inside <script>: escape what could end the element; json.loads reads the escapes back.
    document = json.dumps(doc.to_json(), sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")
    return _PAGE.format(
        expires_iso=_iso(doc.expires),
        expires=format_time(doc.expires),
        repository=html.escape(doc.repository),
        links="\n".join(links),
        script_id=SCRIPT_ID,
        document=document,
    )


def render_requirements(doc: Preauthorized) -> str:
    """Every private package as a PEP 508 direct reference with its sha256: no index can replace it."""
    lines = [
        f"# Private packages from {doc.repository}, pre-authorized by `pipper authorize` at {format_time(doc.created)}.",
        f"# The links expire at {format_time(doc.expires)}; then run `pipper authorize` again. Until then they are",
        "# secrets: never commit this file, nor a lock made from it (uv.lock, pylock.toml keep the URLs).",
        "# Each line is a direct reference: pip and uv take that name from its URL only, never from an index.",
        f"# Files chosen for one target; requested: {', '.join(doc.requested)}",
    ]
    for p in sorted(doc.packages, key=lambda p: (p.dist.project, Version(p.dist.version), p.dist.filename)):
        lines.append(f"{p.dist.name} @ {p.url}#sha256={p.dist.sha256}")
    return "\n".join(_comment_safe(line) for line in lines) + "\n"


def _comment_safe(line: str) -> str:
    """Requested specs come from the command line: never let one break a comment line."""
    return " ".join(line.splitlines()) if line.startswith("#") else line


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600: the links are secrets until they expire) atomically."""
    path = path.expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".pipper-tmp-", dir=directory)
    except OSError as exc:
        raise PipperError(f"cannot write {path}: {exc.strerror}") from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise PipperError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


# -- the consuming side -----------------------------------------------------------------


def read_preauthorized(path: str) -> Preauthorized | None:
    """The document in a pre-authorized file or page; None if ``path`` is something else (pipper.json)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None  # the spec-file reader reports it
    if len(raw) > MAX_FILE:
        return None  # the spec-file reader refuses it by its size
    stripped = text.lstrip()
    if stripped.startswith("<"):
        match = _SCRIPT.search(text)
        if match is None:
            raise PipperError(
                f"{path} is an HTML page but not one written by `pipper authorize --format find-links`:"
                " give it to pip --find-links, or pass a pipper.json or a pre-authorized file"
            )
        payload = match.group(1)
    else:
        payload = text
    try:
        data = load_bounded(payload, max_bytes=MAX_FILE)
    except Unreadable:
        if stripped.startswith("<"):
            raise FormatError(f"{path}: the embedded pre-authorized document is damaged; run `pipper authorize` again") from None
        return None
    if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
        return None
    return Preauthorized.from_json(data, path)


class PreauthorizedSource:
    """Stands in for a :class:`~poetry_pipper.repository.Repository` when ``-i`` is a pre-authorized file.

    It answers index lookups from the file (no request) and fetches wheels over HTTP(S)
    with the presigned links: no repository, no AWS credentials, no boto3.
    """

    def __init__(self, doc: Preauthorized, path: str) -> None:
        self.doc = doc
        self.path = path
        self.location = f"{path} (pre-authorized links to {doc.repository or 'S3'})"
        self.pre = doc.pre
        self._indexes: dict[str, PackageIndex] = {}
        self._by_sha: dict[str, Authorized] = {}
        self._cancelled = threading.Event()
        for entry in doc.packages:
            index = self._indexes.setdefault(entry.dist.project, PackageIndex.empty(entry.name))
            index.add_file(entry.dist)
            self._by_sha[entry.dist.sha256] = entry

    def check_expiry(self, now: datetime.datetime | None = None) -> None:
        if (now or utcnow()) >= self.doc.expires:
            raise Expired(self.path, self.doc.expires)

    def requested(self, names: list[str] | None = None) -> list[str]:
        """The specs to install: those given (each must be in the file), else the ones authorized."""
        from .specs import parse_spec

        for text in names or []:
            if text.endswith((".pipper", ".whl")):
                continue  # a local bundle or wheel given to `pipper install`
            spec = parse_spec(text)
            if spec.name not in self._indexes:
                raise NotFound(
                    f"{spec.name} is not in the pre-authorized file {self.path}: authorize it"
                    f" (pipper authorize {spec.name} ...) or drop it"
                )
        return list(names) if names else list(self.doc.requested)

    def package_index(self, name: str) -> PackageIndex | None:
        return self._indexes.get(canonicalize_name(name))

    def release(self, index: PackageIndex, version: str) -> Release | None:
        return index.get(version)

    def cancel(self) -> None:
        self._cancelled.set()

    def fetch(self, dist: DistFile, dest_dir: Path, *, progress: Progress | None = None) -> Path:
        """Download a file with its link, verified by sha256 before it gets its name."""
        entry = self._by_sha.get(dist.sha256)
        if entry is None:
            raise NotFound(f"{dist.filename} is not in the pre-authorized file {self.path}")
        advice = ": run `pipper authorize` again, or `pipper verify` on the repository"
        return verified_download(
            lambda tmp, tick: self._download(entry, tmp, tick), dest_dir / dist.filename, dist.sha256,
            mismatch=integrity_error(dist.filename, _where(entry.url), dist.sha256, advice),
            cancelled=self._cancelled, progress=progress, attempts=1,
        )

    def _download(self, entry: Authorized, dest: Path, progress: Progress) -> None:
        from . import __version__

        request = urllib.request.Request(entry.url, headers={"User-Agent": f"poetry-pipper/{__version__}"})

        def attempt() -> None:
            try:
                with urllib.request.urlopen(request, timeout=60) as response, open(dest, "wb") as out:
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        progress(len(chunk))
            except urllib.error.HTTPError as exc:
                if exc.code >= 500:
                    raise _Transient(exc) from None
                raise self._refused(entry, exc) from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                raise _Transient(exc) from None

        def give_up(exc: BaseException) -> PipperError:
            cause = exc.cause if isinstance(exc, _Transient) else exc
            if isinstance(cause, urllib.error.HTTPError):
                return self._refused(entry, cause)
            reason = getattr(cause, "reason", None) or cause
            return StorageError(
                f"cannot download {entry.dist.filename} from {_where(entry.url)}: {reason};"
                " check the network and retry"
            )

        retry(attempt, attempts=_ATTEMPTS, on=(_Transient,), give_up=give_up, wait=lambda n: time.sleep(0.2 * (n + 1)))

    def _refused(self, entry: Authorized, exc: urllib.error.HTTPError) -> PipperError:
        try:
            body = exc.read(8192).decode("utf-8", "replace")
        except OSError:
            body = ""
        code = _xml_field(body, "Code") or str(exc.reason or "")
        message = _xml_field(body, "Message")
        wheel = entry.dist.filename
        expired = "expired" in message.lower() or "expired" in code.lower()
        if exc.code in (400, 403) and (expired or utcnow() >= entry.expires):
            return Expired(self.path, url_expiry(entry.url) or entry.expires)
        if exc.code == 403:
            return StorageError(
                f"the server refused the pre-authorized link for {wheel} (403 {code}): whoever signed it may"
                " have lost access, or signed with temporary credentials that expired; run `pipper authorize` again"
            )
        if exc.code == 404:
            return StorageError(
                f"{wheel} is no longer at {_where(entry.url)} (404 {code}): it was deleted or replaced;"
                " run `pipper authorize` again"
            )
        return StorageError(f"downloading {wheel} from {_where(entry.url)} failed: HTTP {exc.code} {code}".rstrip())


class _Transient(Exception):
    """A failure worth another try: a 5xx reply or a broken connection."""

    def __init__(self, cause: BaseException) -> None:
        self.cause = cause


def _xml_field(body: str, name: str) -> str:
    match = re.search(rf"<{name}>(.*?)</{name}>", body, re.DOTALL)
    return html.unescape(match.group(1).strip()) if match else ""


def open_preauthorized(path: str | None, *, bucket: str | None = None) -> PreauthorizedSource | None:
    """The source behind ``-i FILE`` when FILE is a pre-authorized file or page, checked for expiry.

    None when there is no ``-i`` or it is a pipper.json-style spec file.
    """
    if not path:
        return None
    doc = read_preauthorized(path)
    if doc is None:
        return None
    if bucket:
        raise PipperError(f"{path} is a pre-authorized file: it carries its own links, so drop -b {bucket}")
    source = PreauthorizedSource(doc, path)
    source.check_expiry()
    return source
