"""Keeping a repository healthy: yank, unyank, delete, verify (a drift report) and reindex.

Release records are the truth; the package indexes, the root list and the PEP 503 pages are
derived from them. ``verify`` compares every derived object and every stored file with the
records, read-only. ``reindex`` rewrites the derived objects from the records with the same
compare-and-swap the publishers use, so it is safe while others publish, and it writes nothing
when nothing is wrong (a second run changes nothing). It never deletes a file: an unreferenced
wheel may belong to a publish in flight.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .bundle import sha256_file
from .errors import FormatError, NotFound, PipperError
from .index import (
    ROOT_INDEX,
    SIMPLE_ROOT,
    NewerFormatError,
    PackageIndex,
    Release,
    RootIndex,
    index_key,
    newest,
    release_key,
    releases_prefix,
    render_simple_page,
    render_simple_root,
    simple_key,
)
from .legacy import is_0x_bundle
from .repository import Repository, dependency_names, with_yank
from .specs import SpecError, parse_spec, parse_version

WORKERS = 8
MAX_REASON = 500

_NAME = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_PACKAGE_KEY = re.compile(rf"^packages/({_NAME})/index\.json$")
_RECORD_KEY = re.compile(rf"^packages/({_NAME})/releases/([^/]+)\.json$")
_FILE_KEY = re.compile(rf"^packages/({_NAME})/files/([0-9a-f]{{64}})/([^/]+)$")
_PAGE_KEY = re.compile(rf"^simple/({_NAME})/index\.html$")
_ANY_PACKAGE_KEY = re.compile(rf"^packages/({_NAME})/")


# -- yank, unyank, delete ------------------------------------------------------------------


def exact_version(text: str, command: str) -> tuple[str, str]:
    """``NAME:VERSION`` (or ``NAME==VERSION``) as (normalized name, normalized version)."""
    spec = parse_spec(text)
    if not spec.is_exact_pin():
        raise SpecError(f"{command} needs one exact version, as in `pipper {command} {spec.name}:1.2.3`; got {text!r}")
    (clause,) = list(spec.specifier)
    return spec.name, str(parse_version(clause.version))


def yank(repo: Repository, text: str, reason: str = "") -> tuple[Release, bool]:
    """Mark a version yanked (PEP 592); True if it was not yanked with this reason already."""
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        raise PipperError(f"the yank reason is {len(reason)} characters long; keep it under {MAX_REASON}")
    name, version = exact_version(text, "yank")
    return repo.update_release(name, version, with_yank(reason))


def unyank(repo: Repository, text: str) -> tuple[Release, bool]:
    name, version = exact_version(text, "unyank")
    return repo.update_release(name, version, with_yank(None))


def delete(repo: Repository, text: str) -> Release:
    name, version = exact_version(text, "delete")
    return repo.delete_release(name, version)


# -- verify --------------------------------------------------------------------------------

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


def counted(report: VerifyReport | ReindexReport) -> str:
    """``3 packages, 1 version``."""
    packages, versions = report.packages, report.versions
    return f"{packages} package{'s' * (packages != 1)}, {versions} version{'s' * (versions != 1)}"


def _parse_or_problem(
    parse: Callable[[], Any], problems: list[Problem], kind: str, key: str
) -> Any:
    try:
        return parse()
    except NewerFormatError:
        raise
    except FormatError as exc:
        problems.append(Problem(kind, key, str(exc)))
        return None


def _sha256_of(repo: Repository, key: str, workdir: Path) -> tuple[str, int] | None:
    """(sha256, size) of a stored object, or None if it vanished."""
    with tempfile.NamedTemporaryFile(dir=workdir, delete=False) as handle:
        path = Path(handle.name)
    try:
        try:
            repo.storage.download(key, path)
        except NotFound:
            return None
        return sha256_file(path), path.stat().st_size
    finally:
        path.unlink(missing_ok=True)


def verify(repo: Repository, *, hash_wheels: bool = True) -> VerifyReport:
    """Check every index entry, record, file and page against each other; read-only."""
    import hashlib

    storage = repo.storage
    report = VerifyReport(str(repo.location))
    problems = report.problems
    keys = set(storage.list(""))
    url = repo.location.key_url

    names: set[str] = set()
    claimed: set[str] = {ROOT_INDEX, SIMPLE_ROOT}
    for key in keys:
        for pattern in (_PACKAGE_KEY, _RECORD_KEY, _FILE_KEY):
            match = pattern.match(key)
            if match:
                names.add(match.group(1))
                claimed.add(key)
        if _PAGE_KEY.match(key) or is_0x_bundle(key):  # pipper 0.x objects stay beside the layout (legacy.py)
            claimed.add(key)

    root: RootIndex | None = None
    root_blob = storage.get(ROOT_INDEX)
    if root_blob is not None:
        root = _parse_or_problem(lambda: RootIndex.from_bytes(root_blob.data, url(ROOT_INDEX)), problems,
                                 "bad-root", ROOT_INDEX)
    names |= set(root.packages) if root else set()

    listed: dict[str, str] = {}  # packages that have versions -> display name
    hash_jobs: list[Release] = []
    for name in sorted(names):
        ikey = index_key(name)
        index: PackageIndex | None = None
        index_blob = storage.get(ikey) if ikey in keys else None
        if index_blob is not None:
            index = _parse_or_problem(lambda b=index_blob, k=ikey: PackageIndex.from_bytes(b.data, url(k)),  # type: ignore[misc]
                                      problems, "bad-index", ikey)
        records: dict[str, Release] = {}
        prefix = releases_prefix(name)
        for key in sorted(k for k in keys if k.startswith(prefix) and _RECORD_KEY.match(k)):
            blob = storage.get(key)
            if blob is None:
                continue
            record = _parse_or_problem(lambda b=blob, k=key: Release.from_record(b.data, url(k)),  # type: ignore[misc]
                                       problems, "bad-record", key)
            if record is None:
                continue
            version = key[len(prefix):-len(".json")]
            if record.project != name or str(record.version) != version:
                problems.append(Problem("bad-record", key, f"the record describes {record.meta.name} {record.meta.version}"))
                continue
            records[version] = record
        entries = index.releases if index is not None else {}
        for version, entry in sorted(entries.items()):
            record = records.get(version)
            if record is None:
                problems.append(Problem("unrecorded-entry", ikey, f"{name} {version} is indexed but has no release record"))
            elif replace(record, private_requires=()) != replace(entry, private_requires=()):
                what = "yank state" if record.yanked != entry.yanked or record.yanked_reason != entry.yanked_reason else "content"
                problems.append(Problem("entry-differs", ikey, f"{name} {version}: the index's {what} differs from the release record"))
        for version in sorted(records.keys() - entries.keys()):
            if records[version].key not in keys:
                continue  # a record without its wheel: reported as missing-wheel, rightly not indexed
            problems.append(Problem("unindexed-release", release_key(name, version),
                                    f"{name} {version} has a release record but is not in the index"))

        referenced: dict[str, Release] = {}
        for release in [*records.values(), *entries.values()]:
            referenced.setdefault(release.key, release)
        file_prefix = f"packages/{name}/files/"
        wanted = {k for r in referenced.values() for k in (r.key, r.metadata_key)}
        for key in sorted(k for k in keys if k.startswith(file_prefix) and k not in wanted and _FILE_KEY.match(k)):
            problems.append(Problem("orphan-file", key, "no release record or index entry references it"))
        for release in referenced.values():
            label = f"{name} {release.meta.version}"
            if release.key not in keys:
                problems.append(Problem("missing-wheel", release.key, f"{label}: the wheel does not exist"))
                continue
            hash_jobs.append(release)
            if release.metadata_sha256:
                sidecar = storage.get(release.metadata_key) if release.metadata_key in keys else None
                if sidecar is None:
                    problems.append(Problem("missing-metadata", release.metadata_key, f"{label}: the metadata sidecar does not exist"))
                elif hashlib.sha256(sidecar.data).hexdigest() != release.metadata_sha256:
                    problems.append(Problem("metadata-mismatch", release.metadata_key,
                                            f"{label}: the sidecar's sha256 differs from the recorded one"))

        page_key = simple_key(name)
        page = storage.get(page_key) if page_key in keys else None
        if index is not None:
            if page is None:
                problems.append(Problem("missing-page", page_key, f"the PEP 503 page of {name} does not exist"))
            elif page.data != render_simple_page(index):
                problems.append(Problem("stale-page", page_key, f"the PEP 503 page of {name} does not match its index"))
        elif page is not None and index_blob is None:
            problems.append(Problem("orphan-page", page_key, f"{name} has no package index"))
        if index is not None and index.releases:
            listed[name] = index.display_name
            report.packages += 1
            report.versions += len(index.releases)

    for key in sorted(k for k in keys if _PAGE_KEY.match(k)):
        if _PAGE_KEY.match(key).group(1) not in names:  # type: ignore[union-attr]
            problems.append(Problem("orphan-page", key, "no package of that name exists"))
    if root is not None or root_blob is None:
        root_packages = root.packages if root is not None else {}
        for name in sorted(listed.keys() - root_packages.keys()):
            problems.append(Problem("unlisted-package", ROOT_INDEX, f"{name} has versions but is not in the root list"))
        for name in sorted(root_packages.keys() - listed.keys()):
            problems.append(Problem("listed-without-versions", ROOT_INDEX, f"{name} is listed but has no versions"))
        if root_blob is not None or listed:
            root_page = storage.get(SIMPLE_ROOT)
            if root_page is None:
                problems.append(Problem("missing-page", SIMPLE_ROOT, "the PEP 503 root page does not exist"))
            elif root_page.data != render_simple_root(root_packages):
                problems.append(Problem("stale-page", SIMPLE_ROOT, "the PEP 503 root page does not match the root list"))
    for key in sorted(keys - claimed):
        problems.append(Problem("foreign-object", key, "not part of the pipper repository layout"))

    if hash_wheels and hash_jobs:
        with tempfile.TemporaryDirectory(prefix="pipper-verify-") as tmp, ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(lambda r: _sha256_of(repo, r.key, Path(tmp)), hash_jobs))
        for release, result in zip(hash_jobs, results, strict=True):
            label = f"{release.meta.name} {release.meta.version}"
            if result is None:
                problems.append(Problem("missing-wheel", release.key, f"{label}: the wheel does not exist"))
                continue
            report.wheels_hashed += 1
            digest, size = result
            if digest != release.meta.sha256:
                problems.append(Problem("sha256-mismatch", release.key,
                                        f"{label}: sha256 is {digest[:16]}..., the record says {release.meta.sha256[:16]}..."))
            elif size != release.meta.size:
                problems.append(Problem("sha256-mismatch", release.key, f"{label}: {size} bytes, the record says {release.meta.size}"))
    problems.sort(key=lambda p: (p.key, p.kind, p.detail))
    return report


# -- reindex -------------------------------------------------------------------------------


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
    keys = [k for k in storage.list(prefix) if _RECORD_KEY.match(k)]
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


def _parse_index(name: str, url: str) -> Callable[[bytes], PackageIndex]:
    def parse(data: bytes) -> PackageIndex:
        try:
            return PackageIndex.from_bytes(data, url)
        except NewerFormatError:
            raise
        except FormatError:
            return PackageIndex.empty(name)  # unreadable: rebuilt from the records

    return parse


def _parse_root(data: bytes) -> RootIndex:
    try:
        return RootIndex.from_bytes(data, ROOT_INDEX)
    except NewerFormatError:
        raise
    except FormatError:
        return RootIndex()


def _hints(release: Release, known: Iterable[str], *more: Iterable[str]) -> tuple[str, ...]:
    found = dependency_names(release.meta) & set(known)
    for extra in more:
        found |= set(extra)
    return tuple(sorted(found))


def reindex(repo: Repository, *, progress: Callable[[str], None] | None = None) -> ReindexReport:
    """Rebuild every package index, PEP 503 page and the root list from the release records.

    Each write is a compare-and-swap whose new value is computed from records read inside
    the attempt, so a version published meanwhile is either seen or merged by its publisher
    afterwards. Nothing is written when nothing differs.
    """
    storage = repo.storage
    report = ReindexReport(str(repo.location))
    url = repo.location.key_url
    root_blob = storage.get(ROOT_INDEX)
    root_names = set(_parse_root(root_blob.data).packages) if root_blob else set()
    names = sorted(_package_names(repo) | root_names)
    first_pass = {name: _records(repo, name)[0] for name in names}
    known = {name for name, records in first_pass.items() if records}

    for name in names:
        if progress:
            progress(name)
        ikey = index_key(name)
        skipped: dict[str, Problem] = {}

        def mutate(index: PackageIndex, name: str = name, skipped: dict[str, Problem] = skipped) -> bool:
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

        index, etag, changed = repo._cas(ikey, _parse_index(name, url(ikey)), lambda name=name: PackageIndex.empty(name),  # type: ignore[misc]
                                         mutate)
        report.skipped += sorted(skipped.values(), key=lambda p: p.key)
        if changed:
            report.written.append(ikey)
        if changed or etag:
            parse = _parse_index(name, url(ikey))
            if repo._mirror(simple_key(name), ikey, index, etag, parse, render_simple_page, only_if_changed=True):
                report.written.append(simple_key(name))
        if index.releases:
            report.packages += 1
            report.versions += len(index.releases)

    def rebuild_root(root: RootIndex) -> bool:
        wanted: dict[str, str] = {}
        for name in sorted(_package_names(repo) | set(root.packages)):
            blob = storage.get(index_key(name))
            if blob is None:
                continue
            index = _parse_index(name, url(index_key(name)))(blob.data)
            if index.releases:
                wanted[name] = root.packages.get(name) or index.display_name
        if wanted == root.packages:
            return False
        root.packages = wanted
        return True

    root, etag, changed = repo._cas(ROOT_INDEX, _parse_root, RootIndex, rebuild_root)
    if changed:
        report.written.append(ROOT_INDEX)
    if (changed or etag) and repo._mirror(SIMPLE_ROOT, ROOT_INDEX, root, etag, _parse_root,
                                          lambda r: render_simple_root(r.packages), only_if_changed=True):
        report.written.append(SIMPLE_ROOT)
    return report
