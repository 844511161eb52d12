"""``pipper verify``: a read-only drift report of a repository.

Release records are the truth. Every derived object (package indexes, the root list, the PEP 503
pages) and every stored file is compared with them; files no record references and objects
outside the layout are listed too.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .download import sha256_file
from .errors import FormatError, NewerFormatError, NotFound
from .index import PackageIndex, Release, RootIndex
from .keys import ROOT_INDEX, SIMPLE_ROOT, index_key, release_key, releases_prefix, simple_key
from .legacy import is_0x_bundle
from .pages import render_simple_page, render_simple_root
from .repository import Repository
from .storage.base import Blob

WORKERS = 8

NAME = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
PACKAGE_KEY = re.compile(rf"^packages/({NAME})/index\.json$")
RECORD_KEY = re.compile(rf"^packages/({NAME})/releases/([^/]+)\.json$")
FILE_KEY = re.compile(rf"^packages/({NAME})/files/([0-9a-f]{{64}})/([^/]+)$")
PAGE_KEY = re.compile(rf"^simple/({NAME})/index\.html$")

#: kind -> what it means, for --help and the summary.
KINDS: dict[str, str] = {
    "bad-root": "the root list is not a readable pipper index",
    "bad-index": "a package index is not a readable pipper index",
    "bad-record": "a release record is unreadable or describes another version",
    "missing-wheel": "an indexed or recorded wheel does not exist",
    "sha256-mismatch": "a stored wheel's bytes do not match the recorded sha256 or size",
    "missing-metadata": "the PEP 658 metadata sidecar of a wheel does not exist",
    "metadata-mismatch": "the metadata sidecar does not match the recorded sha256",
    "unrecorded-entry": "an index entry has no release record",
    "unindexed-release": "a release record is missing from its package index",
    "entry-differs": "an index entry differs from its release record (e.g. the yank state)",
    "orphan-file": "a file under files/<sha256>/ that no record references",
    "missing-page": "a PEP 503 page is missing",
    "stale-page": "a PEP 503 page does not match its index",
    "orphan-page": "a PEP 503 page for a package that has no index",
    "unlisted-package": "a package with versions is missing from the root list",
    "listed-without-versions": "the root list names a package that has no versions",
    "foreign-object": "an object that is not part of the repository layout",
}
#: kinds `pipper reindex` repairs.
REINDEX_FIXES = frozenset({
    "bad-root", "bad-index", "unrecorded-entry", "unindexed-release", "entry-differs", "missing-page",
    "stale-page", "unlisted-package", "listed-without-versions",
})
T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    kind: str
    key: str
    detail: str

    def line(self) -> str:
        return f"{self.kind}: {self.key}: {self.detail}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "key": self.key, "detail": self.detail}


@dataclass
class VerifyReport:
    location: str
    packages: int = 0
    versions: int = 0
    wheels_hashed: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def advice(self) -> str:
        kinds = {p.kind for p in self.problems}
        fixable = kinds & REINDEX_FIXES
        other = kinds - REINDEX_FIXES
        parts = []
        if fixable:
            parts.append("`pipper reindex` rebuilds the indexes and pages")
        if other & {"missing-wheel", "sha256-mismatch", "missing-metadata", "metadata-mismatch", "bad-record"}:
            parts.append("damaged versions need `pipper publish --force` of the original bundle or `pipper delete`")
        if other & {"orphan-file", "foreign-object", "orphan-page"}:
            parts.append("orphans and foreign objects can be deleted by hand once no publish is running")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "ok": self.ok,
            "packages": self.packages,
            "versions": self.versions,
            "wheels_hashed": self.wheels_hashed,
            "problems": [p.to_json() for p in self.problems],
        }


class Counts(Protocol):
    packages: int
    versions: int


def counted(report: Counts) -> str:
    """``3 packages, 1 version``."""
    packages, versions = report.packages, report.versions
    return f"{packages} package{'s' * (packages != 1)}, {versions} version{'s' * (versions != 1)}"


def verify(repo: Repository, *, hash_wheels: bool = True) -> VerifyReport:
    """Check every index entry, record, file and page against each other; read-only."""
    check = _Verifier(repo)
    names = check.scan()
    for name in sorted(names):
        check.package(name)
    check.pages_and_root(names)
    if hash_wheels and check.hash_jobs:
        check.hash_wheels()
    check.report.problems.sort(key=lambda p: (p.key, p.kind, p.detail))
    return check.report


class _Verifier:
    """One verify run: the keys listed once, the problems found, the wheels left to hash."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.storage = repo.storage
        self.url = repo.location.key_url
        self.report = VerifyReport(str(repo.location))
        self.keys = set(self.storage.list(""))
        self.claimed: set[str] = {ROOT_INDEX, SIMPLE_ROOT}
        self.root: RootIndex | None = None
        self.root_blob: Blob | None = None
        self.listed: dict[str, str] = {}  # packages that have versions -> display name
        self.hash_jobs: list[Release] = []

    def problem(self, kind: str, key: str, detail: str) -> None:
        self.report.problems.append(Problem(kind, key, detail))

    def parsed(self, parse: Callable[[], T], kind: str, key: str) -> T | None:
        try:
            return parse()
        except NewerFormatError:
            raise
        except FormatError as exc:
            self.problem(kind, key, str(exc))
            return None

    def scan(self) -> set[str]:
        """Package names from the keys and the root list; the keys that belong to the layout."""
        names: set[str] = set()
        for key in self.keys:
            for pattern in (PACKAGE_KEY, RECORD_KEY, FILE_KEY):
                match = pattern.match(key)
                if match:
                    names.add(match.group(1))
                    self.claimed.add(key)
            if PAGE_KEY.match(key) or is_0x_bundle(key):  # pipper 0.x objects stay beside the layout (legacy.py)
                self.claimed.add(key)
        root_blob = self.root_blob = self.storage.get(ROOT_INDEX)
        if root_blob is not None:
            self.root = self.parsed(lambda: RootIndex.from_bytes(root_blob.data, self.url(ROOT_INDEX)), "bad-root", ROOT_INDEX)
        return names | (set(self.root.packages) if self.root else set())

    def package(self, name: str) -> None:
        ikey = index_key(name)
        index_blob = self.storage.get(ikey) if ikey in self.keys else None
        index = None
        if index_blob is not None:
            index = self.parsed(lambda: PackageIndex.from_bytes(index_blob.data, self.url(ikey)), "bad-index", ikey)
        records = self.records(name)
        entries = index.releases if index is not None else {}
        self.compare(name, records, entries)
        referenced: dict[str, Release] = {}
        for release in [*records.values(), *entries.values()]:
            referenced.setdefault(release.key, release)
        self.files(name, referenced)
        self.page(name, index, index_blob is not None)
        if index is not None and index.releases:
            self.listed[name] = index.display_name
            self.report.packages += 1
            self.report.versions += len(index.releases)

    def records(self, name: str) -> dict[str, Release]:
        records: dict[str, Release] = {}
        prefix = releases_prefix(name)
        for key in sorted(k for k in self.keys if k.startswith(prefix) and RECORD_KEY.match(k)):
            blob = self.storage.get(key)
            if blob is None:
                continue
            record = self.parsed(lambda b=blob, k=key: Release.from_record(b.data, self.url(k)), "bad-record", key)  # type: ignore[misc]
            if record is None:
                continue
            version = key[len(prefix):-len(".json")]
            if record.project != name or str(record.version) != version:
                self.problem("bad-record", key, f"the record describes {record.meta.name} {record.meta.version}")
                continue
            records[version] = record
        return records

    def compare(self, name: str, records: dict[str, Release], entries: dict[str, Release]) -> None:
        ikey = index_key(name)
        for version, entry in sorted(entries.items()):
            record = records.get(version)
            if record is None:
                self.problem("unrecorded-entry", ikey, f"{name} {version} is indexed but has no release record")
            elif replace(record, private_requires=()) != replace(entry, private_requires=()):
                what = "yank state" if record.yanked != entry.yanked or record.yanked_reason != entry.yanked_reason else "content"
                self.problem("entry-differs", ikey, f"{name} {version}: the index's {what} differs from the release record")
        for version in sorted(records.keys() - entries.keys()):
            if records[version].key not in self.keys:
                continue  # a record without its wheel: reported as missing-wheel, rightly not indexed
            self.problem("unindexed-release", release_key(name, version),
                         f"{name} {version} has a release record but is not in the index")

    def files(self, name: str, referenced: dict[str, Release]) -> None:
        file_prefix = f"packages/{name}/files/"
        wanted = {k for r in referenced.values() for k in (r.key, r.metadata_key)}
        for key in sorted(k for k in self.keys if k.startswith(file_prefix) and k not in wanted and FILE_KEY.match(k)):
            self.problem("orphan-file", key, "no release record or index entry references it")
        for release in referenced.values():
            label = f"{name} {release.meta.version}"
            if release.key not in self.keys:
                self.problem("missing-wheel", release.key, f"{label}: the wheel does not exist")
                continue
            self.hash_jobs.append(release)
            if release.metadata_sha256:
                sidecar = self.storage.get(release.metadata_key) if release.metadata_key in self.keys else None
                if sidecar is None:
                    self.problem("missing-metadata", release.metadata_key, f"{label}: the metadata sidecar does not exist")
                elif hashlib.sha256(sidecar.data).hexdigest() != release.metadata_sha256:
                    self.problem("metadata-mismatch", release.metadata_key,
                                 f"{label}: the sidecar's sha256 differs from the recorded one")

    def page(self, name: str, index: PackageIndex | None, index_exists: bool) -> None:
        page_key = simple_key(name)
        page = self.storage.get(page_key) if page_key in self.keys else None
        if index is not None:
            if page is None:
                self.problem("missing-page", page_key, f"the PEP 503 page of {name} does not exist")
            elif page.data != render_simple_page(index):
                self.problem("stale-page", page_key, f"the PEP 503 page of {name} does not match its index")
        elif page is not None and not index_exists:
            self.problem("orphan-page", page_key, f"{name} has no package index")

    def pages_and_root(self, names: set[str]) -> None:
        for key in sorted(k for k in self.keys if PAGE_KEY.match(k)):
            if PAGE_KEY.match(key).group(1) not in names:  # type: ignore[union-attr]
                self.problem("orphan-page", key, "no package of that name exists")
        if self.root is not None or self.root_blob is None:
            root_packages = self.root.packages if self.root is not None else {}
            for name in sorted(self.listed.keys() - root_packages.keys()):
                self.problem("unlisted-package", ROOT_INDEX, f"{name} has versions but is not in the root list")
            for name in sorted(root_packages.keys() - self.listed.keys()):
                self.problem("listed-without-versions", ROOT_INDEX, f"{name} is listed but has no versions")
            if self.root_blob is not None or self.listed:
                root_page = self.storage.get(SIMPLE_ROOT)
                if root_page is None:
                    self.problem("missing-page", SIMPLE_ROOT, "the PEP 503 root page does not exist")
                elif root_page.data != render_simple_root(root_packages):
                    self.problem("stale-page", SIMPLE_ROOT, "the PEP 503 root page does not match the root list")
        for key in sorted(self.keys - self.claimed):
            self.problem("foreign-object", key, "not part of the pipper repository layout")

    def hash_wheels(self) -> None:
        with tempfile.TemporaryDirectory(prefix="pipper-verify-") as tmp, ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(lambda r: self.sha256_of(r.key, Path(tmp)), self.hash_jobs))
        for release, result in zip(self.hash_jobs, results, strict=True):
            label = f"{release.meta.name} {release.meta.version}"
            if result is None:
                self.problem("missing-wheel", release.key, f"{label}: the wheel does not exist")
                continue
            self.report.wheels_hashed += 1
            digest, size = result
            if digest != release.meta.sha256:
                self.problem("sha256-mismatch", release.key,
                             f"{label}: sha256 is {digest[:16]}..., the record says {release.meta.sha256[:16]}...")
            elif size != release.meta.size:
                self.problem("sha256-mismatch", release.key, f"{label}: {size} bytes, the record says {release.meta.size}")

    def sha256_of(self, key: str, workdir: Path) -> tuple[str, int] | None:
        """(sha256, size) of a stored object, or None if it vanished."""
        with tempfile.NamedTemporaryFile(dir=workdir, delete=False) as handle:
            path = Path(handle.name)
        try:
            try:
                self.storage.download(key, path)
            except NotFound:
                return None
            return sha256_file(path), path.stat().st_size
        finally:
            path.unlink(missing_ok=True)
