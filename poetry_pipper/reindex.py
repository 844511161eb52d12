"""``pipper reindex``: every package index, PEP 503 page and the root list rebuilt from the release records.

Each write is a compare-and-swap (:mod:`.cas`) whose new value is computed from records read
inside the attempt, so a version published meanwhile is either seen or merged by its publisher
afterwards. Nothing is written when nothing differs (a second run changes nothing), no file is
ever deleted (an unreferenced wheel may belong to a publish in flight), and an index written in
a newer format is refused, never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .cas import Doc
from .closure import closure_of, graph_reach, hints
from .dependencies import private_requires
from .errors import FormatError, NewerFormatError, PipperError
from .index import FORMAT_VERSION, DistFile, PackageIndex, RootIndex, newest
from .keys import parse_record_key
from .legacy import legacy_names
from .records import Records, read_records, record_refs
from .repository import Repository
from .storage.base import Blob
from .verify import NAME, Problem

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
    """Rebuild every package index (in the current format), PEP 503 page, private-dependency hint and
    closure (computed exactly from the graph of all hints), and the root list from the records."""
    report = ReindexReport(str(repo.location))
    root = _lenient(repo.root_doc(), RootIndex)
    root_blob = repo.storage.get(root.key)
    names = sorted(_package_names(repo) | (set(root.parse(root_blob.data).packages) if root_blob else set()))
    found = {name: _records(repo, name)[0] for name in names}
    known = {name for name in names if found[name]}
    # Every index is read once up front (the first read of its compare-and-swap below): the closures
    # need the whole graph of hints, the records' and the ones the indexes keep.
    blobs = repo.index_blobs(names)
    graph = {name: {*private_requires(found[name].values(), known | {name}), *_kept_hints(repo, name, blobs[name])}
             for name in names}
    reaches = graph_reach(graph)
    try:
        for name in names:
            if progress:
                progress(name)
            _reindex_package(repo, name, known, report, reaches, blobs[name])
        _rebuild_root(repo, report)
    except PipperError as exc:
        if not report.written or isinstance(exc, NewerFormatError):
            raise
        shown = ", ".join(report.written[:3]) + (f" and {len(report.written) - 3} more" if len(report.written) > 3 else "")
        raise PipperError(f"{exc} [reindex had rewritten {shown} before this failure: run it again to finish]") from None
    return report


def _kept_hints(repo: Repository, name: str, blob: Blob | None) -> set[str]:
    index = repo.readable_index(name, blob)
    return hints(index) if index else set()


def _lenient(doc: Doc[Any], empty: Callable[[], Any], unreadable: set[str] | None = None) -> Doc[Any]:
    """The document read as its empty value when unreadable (rebuilt from the records); a newer format refuses.

    ``unreadable`` holds the key while the last read of it was garbage: it must be written even when what
    the records say is just as empty (a package all of whose versions were deleted, an empty repository).
    """

    def parse(data: bytes) -> Any:
        try:
            value = doc.parse(data)
        except NewerFormatError:
            raise
        except FormatError:
            if unreadable is not None:
                unreadable.add(doc.key)
            return empty()
        if unreadable is not None:
            unreadable.discard(doc.key)
        return value

    return replace(doc, parse=parse)


def _package_names(repo: Repository) -> set[str]:
    names = set()
    for key in repo.storage.list("packages/"):
        match = _ANY_PACKAGE_KEY.match(key)
        if match:
            names.add(match.group(1))
    return names


def _records(repo: Repository, name: str) -> tuple[dict[tuple[str, str], DistFile], list[Problem], Records]:
    """The usable files of a package (record readable and file present), what was skipped, and the records."""
    storage = repo.storage
    found = read_records(storage, name, record_refs(storage, name))
    present = set(storage.list(f"packages/{name}/files/"))
    files: dict[tuple[str, str], DistFile] = {}
    skipped = [Problem("bad-record", key, f"{why}; its index entries (if any) are kept as they are")
               for key, why in sorted(found.bad.items())]
    for where, dist in sorted(found.files.items()):
        if dist.key not in present:
            skipped.append(Problem("missing-file", dist.key,
                                   f"{dist.name} {dist.version} {dist.filename}: the file does not exist, so it is not indexed"))
            continue
        files[where] = dist
    return files, skipped, found


def _kept_entries(index: PackageIndex, found: Records) -> list[DistFile]:
    """Index entries of files whose record is unreadable: kept as they are (reindex never guesses)."""
    kept = []
    for key in found.bad:
        parsed = parse_record_key(key, index.name)
        if parsed is None:
            continue
        version, filename = parsed
        release = index.releases.get(version)
        for dist in release.files.values() if release else ():
            if (filename is None or dist.filename == filename) and (version, dist.filename) not in found.files:
                kept.append(dist)
    return kept


def _reindex_package(repo: Repository, name: str, known: set[str], report: ReindexReport,
                     reaches: dict[str, set[str]], first: Blob | None) -> None:
    skipped: list[Problem] = []

    def mutate(index: PackageIndex) -> bool:
        files, found_skipped, found = _records(repo, name)
        skipped[:] = found_skipped
        rebuilt = PackageIndex(name, index.display_name)
        for dist in [*files.values(), *_kept_entries(index, found)]:
            rebuilt.add_file(dist)
        for version, release in list(rebuilt.releases.items()):
            current = index.releases.get(version)
            hints = {*private_requires(release.files.values(), known | {name}),
                     *(current.private_requires if current else ())}
            closure = closure_of(name, hints, lambda h: reaches.get(h, ()))
            rebuilt.releases[version] = replace(release, private_requires=tuple(sorted(hints)), private_closure=closure)
        latest = newest(rebuilt.releases.values())
        display = index.display_name if index.releases or not latest else latest.name
        if (index.name == name and rebuilt.releases == index.releases and display == index.display_name
                and index.stored_format == FORMAT_VERSION and not unreadable):
            return False
        index.name, index.display_name, index.releases = name, display, rebuilt.releases
        index.stored_format = FORMAT_VERSION
        return True

    unreadable: set[str] = set()
    doc = _lenient(repo.index_doc(name), lambda: PackageIndex.empty(name), unreadable)
    outcome = repo.cas.update(doc, mutate, check_page=True, first=first)
    report.skipped += sorted(skipped, key=lambda p: p.key)
    if outcome.written:
        report.written.append(doc.key)
    report.written += outcome.pages_written
    if outcome.value.releases:
        report.packages += 1
        report.versions += len(outcome.value.releases)


def _rebuild_root(repo: Repository, report: ReindexReport) -> None:
    legacy = legacy_names(repo.storage)

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
        if wanted == root.packages and legacy == root.legacy and not unreadable:
            return False
        root.packages, root.legacy = wanted, legacy
        return True

    unreadable: set[str] = set()
    doc = _lenient(repo.root_doc(), RootIndex, unreadable)
    outcome = repo.cas.update(doc, rebuild, check_page=True)
    if outcome.written:
        report.written.append(doc.key)
    report.written += outcome.pages_written
