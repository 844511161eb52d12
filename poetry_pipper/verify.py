"""``pipper verify``: a read-only drift report of a repository.

Release records are the truth. Every derived object (package indexes, the root list, the PEP 503
HTML and PEP 691 JSON pages) and every stored file is compared with them; files no record
references and objects outside the layout are listed too.
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

from packaging.utils import canonicalize_name

from .cas import Doc
from .closure import exact
from .dependencies import private_requires, url_requirements
from .download import sha256_file
from .errors import FormatError, NewerFormatError, NotFound
from .index import DistFile, PackageIndex, RootIndex
from .keys import ROOT_INDEX, SIMPLE_ROOT, SIMPLE_ROOT_JSON, index_key
from .legacy import is_0x_bundle
from .pending import DELETE, PENDING_KEY, YANK, PendingChanges, read_pending
from .records import Records, read_records, record_refs
from .repository import Repository
from .schema import is_project_name
from .storage.base import Blob
from .truth import metadata_disagreement

WORKERS = 8

NAME = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
PACKAGE_KEY = re.compile(rf"^packages/({NAME})/index\.json$")
RECORD_KEY = re.compile(rf"^packages/({NAME})/releases/[^/]+(?:/[^/]+)?\.json$")
FILE_KEY = re.compile(rf"^packages/({NAME})/files/([0-9a-f]{{64}})/([^/]+)$")
PAGE_KEY = re.compile(rf"^simple/({NAME})/(?:index\.html)?$")

#: kind -> what it means, for --help and the summary.
KINDS: dict[str, str] = {
    "bad-root": "the root list is not a readable pipper document",
    "bad-index": "a package index is not a readable pipper document",
    "bad-record": "a record is unreadable, or describes another file than its key says",
    "missing-file": "an indexed or recorded file does not exist",
    "sha256-mismatch": "a stored file's bytes do not match the recorded sha256 or size",
    "missing-metadata": "the PEP 658 metadata sidecar of a file does not exist",
    "metadata-mismatch": "the metadata sidecar does not match the recorded sha256",
    "metadata-differs": "a record's Requires-Dist or Requires-Python differs from the file's own METADATA",
    "url-dependency": "a record or index entry lists a direct URL dependency (never followed)",
    "unrecorded-entry": "an index entry has no record",
    "unindexed-file": "a record is missing from its package index",
    "entry-differs": "an index entry differs from its record (e.g. the yank state)",
    "missing-hint": "a release lacks the private-dependency hint of a dependency published here",
    "missing-closure": "a release's closure lacks a package its hints lead to (resolvers find it a round trip later)",
    "orphan-file": "a file under files/<sha256>/ that no record references",
    "missing-page": "a simple page (PEP 503 HTML, or PEP 691 JSON on S3) is missing",
    "stale-page": "a simple page does not match its index, or has the wrong Content-Type",
    "orphan-page": "a simple page for a package that has no index",
    "unlisted-package": "a package with versions is missing from the root list",
    "listed-without-versions": "the root list names a package that has no versions",
    "foreign-object": "an object that is not part of the repository layout",
    "bad-pending": "the marker of an unfinished prune (pending/<name>.json) is unreadable",
}
#: kinds `pipper reindex` repairs.
REINDEX_FIXES = frozenset({
    "bad-root", "bad-index", "unrecorded-entry", "unindexed-file", "entry-differs", "missing-hint", "missing-closure", "missing-page",
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
    files_hashed: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: unfinished prunes (pending.py): not drift, but `pipper prune` should run again
    pending: list[PendingChanges] = field(default_factory=list)

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
        if other & {"missing-file", "sha256-mismatch", "missing-metadata", "metadata-mismatch", "bad-record",
                    "metadata-differs", "url-dependency"}:
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
            "files_hashed": self.files_hashed,
            "problems": [p.to_json() for p in self.problems],
            "pending": [p.to_json() for p in self.pending],
        }


class Counts(Protocol):
    packages: int
    versions: int


def counted(report: Counts) -> str:
    """``3 packages, 1 version``."""
    packages, versions = report.packages, report.versions
    return f"{packages} package{'s' * (packages != 1)}, {versions} version{'s' * (versions != 1)}"


def verify(repo: Repository, *, hash_files: bool = True) -> VerifyReport:
    """Check every index entry, record, file, hint and page against each other; read-only."""
    check = _Verifier(repo)
    names = check.scan()
    states = {name: check.load(name) for name in sorted(names)}
    known = {name for name, state in states.items() if state.records.files}
    for name, state in states.items():
        check.package(name, state, known)
    check.closures({name: state.index for name, state in states.items() if state.index is not None})
    check.pages_and_root(names)
    if hash_files and check.hash_jobs:
        check.hash_files()
    check.report.problems.sort(key=lambda p: (p.key, p.kind, p.detail))
    return check.report


@dataclass
class _Package:
    index: PackageIndex | None
    index_exists: bool
    records: Records


class _Verifier:
    """One verify run: the keys listed once, the problems found, the files left to hash."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.storage = repo.storage
        self.url = repo.location.key_url
        self.report = VerifyReport(str(repo.location))
        self.keys = set(self.storage.list(""))
        self.claimed: set[str] = {ROOT_INDEX, SIMPLE_ROOT, SIMPLE_ROOT_JSON}
        self.root: RootIndex | None = None
        self.root_blob: Blob | None = None
        self.listed: dict[str, str] = {}  # packages that have versions -> display name
        self.legacy: set[str] = set()  # names of pipper 0.x folders holding bundles
        self.hash_jobs: list[DistFile] = []
        self.pending: dict[str, PendingChanges] = {}

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
            if PAGE_KEY.match(key) or PENDING_KEY.match(key):  # pending.py: unfinished prunes
                self.claimed.add(key)
            elif is_0x_bundle(key):  # pipper 0.x objects stay beside the layout (legacy.py)
                self.claimed.add(key)
                folder = key.split("/", 1)[0]
                if folder not in ("packages", "simple") and is_project_name(folder):
                    self.legacy.add(canonicalize_name(folder))
        self.load_pending()
        root_blob = self.root_blob = self.storage.get(ROOT_INDEX)
        if root_blob is not None:
            self.root = self.parsed(lambda: RootIndex.from_bytes(root_blob.data, self.url(ROOT_INDEX)), "bad-root", ROOT_INDEX)
        return names | (set(self.root.packages) if self.root else set())

    def load_pending(self) -> None:
        """The markers of unfinished prunes: the states they cover are not drift (pending.py)."""
        found, bad = read_pending(self.storage)
        self.pending = {name: changes for name, (changes, _etag) in found.items()}
        self.report.pending = [self.pending[name] for name in sorted(self.pending)]
        for key, why in sorted(bad.items()):
            self.problem("bad-pending", key, why)

    def in_progress(self, name: str, version: str, filename: str, action: str) -> bool:
        changes = self.pending.get(name)
        return changes is not None and changes.covers(version, filename, action)

    def load(self, name: str) -> _Package:
        ikey = index_key(name)
        index_blob = self.storage.get(ikey) if ikey in self.keys else None
        index = None
        if index_blob is not None:
            index = self.parsed(lambda: self.repo.index_doc(name).parse(index_blob.data), "bad-index", ikey)
        records = read_records(self.storage, name, record_refs(self.storage, name, self.keys))
        for key, why in sorted(records.bad.items()):
            self.problem("bad-record", key, why)
        return _Package(index, index_blob is not None, records)

    def package(self, name: str, state: _Package, known: set[str]) -> None:
        index = state.index
        entries = {(d.version, d.filename): d for d in index.files()} if index is not None else {}
        self.compare(name, state.records, entries)
        referenced: dict[str, DistFile] = {}
        for dist in [*state.records.files.values(), *entries.values()]:
            referenced.setdefault(dist.key, dist)
        self.url_dependencies(name, state.records, entries)
        self.files(name, referenced, {d.key for d in state.records.files.values()})
        self.page(name, index, state.index_exists)
        if index is not None:
            self.hints(name, index, known)
        if index is not None and index.releases:
            self.listed[name] = index.display_name
            self.report.packages += 1
            self.report.versions += len(index.releases)

    def compare(self, name: str, records: Records, entries: dict[tuple[str, str], DistFile]) -> None:
        ikey = index_key(name)
        for (version, filename), entry in sorted(entries.items()):
            record = records.files.get((version, filename))
            if record is None:
                if not self.in_progress(name, version, filename, DELETE):
                    self.problem("unrecorded-entry", ikey, f"{name} {version} {filename} is indexed but has no record")
            elif record != entry and not (record == replace(entry, yanked=record.yanked, yanked_reason=record.yanked_reason,
                                                            yanked_at=record.yanked_at)
                                          and self.in_progress(name, version, filename, YANK)):
                what = "yank state" if (record.yanked, record.yanked_reason) != (entry.yanked, entry.yanked_reason) \
                    else "content"
                self.problem("entry-differs", ikey, f"{name} {version} {filename}: the index's {what} differs from the record")
        for version, filename in sorted(records.files.keys() - entries.keys()):
            if records.files[(version, filename)].key not in self.keys:
                continue  # a record without its file: reported as missing-file, rightly not indexed
            self.problem("unindexed-file", records.sources[(version, filename)],
                         f"{name} {version} {filename} has a record but is not in the index")

    def url_dependencies(self, name: str, records: Records, entries: dict[tuple[str, str], DistFile]) -> None:
        found = [(records.sources[where], dist) for where, dist in records.files.items()]
        found += [(index_key(name), dist) for dist in entries.values()]
        for key, dist in sorted(found, key=lambda item: (item[0], item[1].version, item[1].filename)):
            for text in url_requirements(dist.requires_dist):
                self.problem("url-dependency", key, f"{name} {dist.version} {dist.filename}: Requires-Dist"
                             f" {text[:200]!r} is a direct URL reference (never followed)")

    def files(self, name: str, referenced: dict[str, DistFile], recorded: set[str] | None = None) -> None:
        file_prefix = f"packages/{name}/files/"
        wanted = {k for d in referenced.values() for k in (d.key, d.metadata_key)}
        if name in self.pending:  # files whose deletion a prune has begun
            wanted |= self.pending[name].deleted_file_keys()
        for key in sorted(k for k in self.keys if k.startswith(file_prefix) and k not in wanted and FILE_KEY.match(k)):
            self.problem("orphan-file", key, "no record or index entry references it")
        for dist in referenced.values():
            label = f"{name} {dist.version} {dist.filename}"
            if dist.key not in self.keys:
                self.problem("missing-file", dist.key, f"{label}: the file does not exist")
                continue
            self.hash_jobs.append(dist)
            if dist.metadata_sha256:
                sidecar = self.storage.get(dist.metadata_key) if dist.metadata_key in self.keys else None
                if sidecar is None:
                    self.problem("missing-metadata", dist.metadata_key, f"{label}: the metadata sidecar does not exist")
                elif hashlib.sha256(sidecar.data).hexdigest() != dist.metadata_sha256:
                    self.problem("metadata-mismatch", dist.metadata_key,
                                 f"{label}: the sidecar's sha256 differs from the recorded one")
                elif (why := metadata_disagreement(
                        dist, sidecar.data, "the record" if dist.key in (recorded or ()) else "the index")) is not None:
                    self.problem("metadata-differs", dist.metadata_key, f"{label}: {why}")

    def hints(self, name: str, index: PackageIndex, known: set[str]) -> None:
        for version, release in sorted(index.releases.items()):
            missing = set(private_requires(release.files.values(), known | {name})) - set(release.private_requires)
            if missing:
                self.problem("missing-hint", index_key(name),
                             f"{name} {version} depends on {', '.join(sorted(missing))}, published here, without the hint"
                             " that keeps resolvers from looking for it elsewhere")

    def closures(self, indexes: dict[str, PackageIndex]) -> None:
        """Each release's closure against the one its hints give in the graph of every index (closure.py)."""
        for name, versions in sorted(exact(indexes).items()):
            for version, wanted in sorted(versions.items()):
                missing = set(wanted) - set(indexes[name].releases[version].private_closure)
                if missing:
                    self.problem("missing-closure", index_key(name),
                                 f"{name} {version} leads to {', '.join(sorted(missing))}, which its closure lacks")

    def page(self, name: str, index: PackageIndex | None, index_exists: bool) -> None:
        doc = self.repo.index_doc(name)
        if index is not None:
            self.pages(doc, index, f"of {name}", "its index", in_progress=name in self.pending)
            return
        for page in doc.pages:
            if not index_exists and page.key in self.keys:
                self.problem("orphan-page", page.key, f"{name} has no package index")

    def pages(self, doc: Doc[Any], value: Any, what: str, source: str, *, in_progress: bool = False) -> None:
        """Every page of a document: present, rendered from ``value``, with its Content-Type.

        ``in_progress``: a prune of the document is unfinished, so a page one step behind is not drift.
        """
        for page in doc.pages:
            kind = "PEP 691 JSON" if page.key.endswith("/") else "PEP 503"
            blob = self.storage.get(page.key) if page.key in self.keys else None
            if blob is None:
                self.problem("missing-page", page.key, f"the {kind} page {what} does not exist")
            elif not page.is_current(blob, page.render(value)):
                if in_progress and blob.data != page.render(value):
                    continue
                detail = "does not match " + source if blob.data != page.render(value) \
                    else f"is served as {blob.content_type!r}, not {page.content_type}"
                self.problem("stale-page", page.key, f"the {kind} page {what} {detail}")

    def pages_and_root(self, names: set[str]) -> None:
        for key in sorted(k for k in self.keys if PAGE_KEY.match(k)):
            if PAGE_KEY.match(key).group(1) not in names:  # type: ignore[union-attr]
                self.problem("orphan-page", key, "no package of that name exists")
        if self.root is not None or self.root_blob is None:
            root_packages = self.root.packages if self.root is not None else {}
            for name in sorted(self.listed.keys() - root_packages.keys()):
                self.problem("unlisted-package", ROOT_INDEX, f"{name} has versions but is not in the root list")
            for name in sorted(root_packages.keys() - self.listed.keys() - self.pending.keys()):
                self.problem("listed-without-versions", ROOT_INDEX, f"{name} is listed but has no versions")
            legacy = self.root.legacy if self.root is not None else {}
            for name in sorted(self.legacy - legacy.keys()) if self.root_blob is not None else ():
                self.problem("unlisted-package", ROOT_INDEX, f"{name} (pipper 0.x layout) is not in the root list's"
                             " 0.x names, so resolvers do not guard it")
            if self.root_blob is not None or self.listed:
                self.pages(self.repo.root_doc(), RootIndex(dict(root_packages)), "of the root", "the root list",
                           in_progress=any(changes.deletes for changes in self.pending.values()))
        for key in sorted(self.keys - self.claimed):
            self.problem("foreign-object", key, "not part of the pipper repository layout")

    def hash_files(self) -> None:
        with tempfile.TemporaryDirectory(prefix="pipper-verify-") as tmp, ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(lambda d: self.sha256_of(d.key, Path(tmp)), self.hash_jobs))
        for dist, result in zip(self.hash_jobs, results, strict=True):
            label = f"{dist.name} {dist.version} {dist.filename}"
            if result is None:
                self.problem("missing-file", dist.key, f"{label}: the file does not exist")
                continue
            self.report.files_hashed += 1
            digest, size = result
            if digest != dist.sha256:
                self.problem("sha256-mismatch", dist.key,
                             f"{label}: sha256 is {digest[:16]}..., the record says {dist.sha256[:16]}...")
            elif size != dist.size:
                self.problem("sha256-mismatch", dist.key, f"{label}: {size} bytes, the record says {dist.size}")

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
