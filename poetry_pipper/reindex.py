"""``pipper reindex``: every package index, PEP 503 page and the root list rebuilt from the release records.

Each write is a compare-and-swap (:mod:`.cas`) whose new value is computed from records read
inside the attempt, so a version published meanwhile is either seen or merged by its publisher
afterwards. Nothing is written when nothing differs (a second run changes nothing), no file is
ever deleted (an unreferenced wheel may belong to a publish in flight), and an index written in
a newer format is refused, never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from .cas import Doc
from .dependencies import dependency_names
from .errors import FormatError, NewerFormatError
from .index import PackageIndex, Release, RootIndex, newest
from .keys import releases_prefix
from .repository import Repository
from .verify import NAME, RECORD_KEY, Problem

WORKERS = 8
_ANY_PACKAGE_KEY = re.compile(rf"^packages/({NAME})/")


@dataclass
class ReindexReport:
    location: str
    packages: int = 0
    versions: int = 0
    written: list[str] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "packages": self.packages,
            "versions": self.versions,
            "written": self.written,
            "skipped": [p.to_json() for p in self.skipped],
        }


def reindex(repo: Repository, *, progress: Callable[[str], None] | None = None) -> ReindexReport:
    """Rebuild every package index, PEP 503 page and the root list from the release records."""
    report = ReindexReport(str(repo.location))
    root = _lenient(repo.root_doc(), RootIndex)
    root_blob = repo.storage.get(root.key)
    names = sorted(_package_names(repo) | (set(root.parse(root_blob.data).packages) if root_blob else set()))
    known = {name for name in names if _records(repo, name)[0]}
    for name in names:
        if progress:
            progress(name)
        _reindex_package(repo, name, known, report)
    _rebuild_root(repo, report)
    return report


def _lenient(doc: Doc[Any], empty: Callable[[], Any]) -> Doc[Any]:
    """The document read as its empty value when unreadable (rebuilt from the records); a newer format refuses."""

    def parse(data: bytes) -> Any:
        try:
            return doc.parse(data)
        except NewerFormatError:
            raise
        except FormatError:
            return empty()

    return replace(doc, parse=parse)


def _package_names(repo: Repository) -> set[str]:
    names = set()
    for key in repo.storage.list("packages/"):
        match = _ANY_PACKAGE_KEY.match(key)
        if match:
            names.add(match.group(1))
    return names


def _records(repo: Repository, name: str) -> tuple[dict[str, Release], dict[str, Problem]]:
    """The readable release records of a package whose wheel exists, and what was skipped, by version."""
    storage = repo.storage
    prefix = releases_prefix(name)
    keys = [k for k in storage.list(prefix) if RECORD_KEY.match(k)]
    files = set(storage.list(f"packages/{name}/files/"))
    with ThreadPoolExecutor(min(WORKERS, max(len(keys), 1))) as pool:
        blobs = list(pool.map(storage.get, keys))
    records: dict[str, Release] = {}
    skipped: dict[str, Problem] = {}
    for key, blob in zip(keys, blobs, strict=True):
        if blob is None:
            continue  # deleted meanwhile
        version = key[len(prefix):-len(".json")]
        try:
            record = Release.from_record(blob.data, repo.location.key_url(key))
        except NewerFormatError:
            raise
        except FormatError as exc:
            skipped[version] = Problem("bad-record", key, f"{exc}; its index entry (if any) is kept as it is")
            continue
        if record.project != name or str(record.version) != version:
            skipped[version] = Problem("bad-record", key, f"the record describes {record.meta.name} {record.meta.version}")
            continue
        if record.key not in files:
            skipped[version] = Problem("missing-wheel", record.key,
                                       f"{record.meta.name} {version}: the wheel does not exist, so it is not indexed")
            continue
        records[version] = record
    return records, skipped


def _hints(release: Release, known: Iterable[str], *more: Iterable[str]) -> tuple[str, ...]:
    found = dependency_names(release.meta) & set(known)
    for extra in more:
        found |= set(extra)
    return tuple(sorted(found))


def _reindex_package(repo: Repository, name: str, known: set[str], report: ReindexReport) -> None:
    skipped: dict[str, Problem] = {}

    def mutate(index: PackageIndex) -> bool:
        records, found_skipped = _records(repo, name)
        skipped.clear()
        skipped.update(found_skipped)
        new: dict[str, Release] = {}
        for version, record in records.items():
            current = index.releases.get(version)
            new[version] = replace(record, private_requires=_hints(
                record, known, record.private_requires, current.private_requires if current else ()
            ))
        for version, problem in found_skipped.items():
            if problem.kind == "bad-record" and version in index.releases:
                new[version] = index.releases[version]
        latest = newest(new.values())
        display = index.display_name if index.releases or not latest else latest.meta.name
        if index.name == name and new == index.releases and display == index.display_name:
            return False
        index.name, index.display_name, index.releases = name, display, new
        return True

    doc = _lenient(repo.index_doc(name), lambda: PackageIndex.empty(name))
    outcome = repo.cas.update(doc, mutate, check_page=True)
    report.skipped += sorted(skipped.values(), key=lambda p: p.key)
    if outcome.written:
        report.written.append(doc.key)
    if outcome.page_written:
        assert doc.page_key is not None
        report.written.append(doc.page_key)
    if outcome.value.releases:
        report.packages += 1
        report.versions += len(outcome.value.releases)


def _rebuild_root(repo: Repository, report: ReindexReport) -> None:
    def rebuild(root: RootIndex) -> bool:
        wanted: dict[str, str] = {}
        for name in sorted(_package_names(repo) | set(root.packages)):
            doc = _lenient(repo.index_doc(name), lambda name=name: PackageIndex.empty(name))  # type: ignore[misc]
            blob = repo.storage.get(doc.key)
            if blob is None:
                continue
            index = doc.parse(blob.data)
            if index.releases:
                wanted[name] = root.packages.get(name) or index.display_name
        if wanted == root.packages:
            return False
        root.packages = wanted
        return True

    doc = _lenient(repo.root_doc(), RootIndex)
    outcome = repo.cas.update(doc, rebuild, check_page=True)
    if outcome.written:
        report.written.append(doc.key)
    if outcome.page_written:
        assert doc.page_key is not None
        report.written.append(doc.page_key)
