"""The records of a package: the truth every derived document (index, pages, root list) is built from.

A file's truth is its file record (``releases/<version>/<filename>.json``) when one exists, else
the format 1 release record of its version (``releases/<version>.json``, one wheel). Format 1
records are never rewritten: a change to such a file (a yank) writes its file record, which wins
from then on. A record must agree with its key (project, version, file name) to count.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .errors import FormatError, NewerFormatError
from .index import DistFile
from .keys import parse_record_key, record_key, releases_prefix, v1_record_key
from .storage.base import Storage

WORKERS = 8


@dataclass(frozen=True)
class RecordRef:
    """A record key of a package: a file record (``filename`` set) or a format 1 record."""

    key: str
    version: str
    filename: str | None


@dataclass
class Records:
    """What a package's records say, file by file, and the records that could not be used."""

    files: dict[tuple[str, str], DistFile] = field(default_factory=dict)
    #: key -> why it was not used (unreadable, or it disagrees with its key)
    bad: dict[str, str] = field(default_factory=dict)
    #: (version, filename) -> the key the file's truth came from
    sources: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (version, filename) -> every record key that describes the file (a file record, a format 1 record)
    keys: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def versions(self) -> set[str]:
        return {version for version, _filename in self.files}


def record_refs(storage: Storage, name: str, keys: Iterable[str] | None = None) -> list[RecordRef]:
    """The record keys of ``name``: one LIST (or filtered from ``keys`` already listed)."""
    refs = []
    listing = storage.list(releases_prefix(name)) if keys is None else keys
    for key in listing:
        parsed = parse_record_key(key, name)
        if parsed is not None:
            refs.append(RecordRef(key, *parsed))
    return refs


def read_record(storage: Storage, name: str, ref: RecordRef, data: bytes) -> DistFile:
    """A record checked against its key; FormatError when it disagrees."""
    dist = DistFile.from_record(data, storage.location.key_url(ref.key))
    said = f"{name} {ref.version}" + (f" {ref.filename}" if ref.filename else "")
    if dist.project != name or dist.version != ref.version or (ref.filename and dist.filename != ref.filename):
        raise FormatError(
            f"{storage.location.key_url(ref.key)} describes {dist.filename} ({dist.name} {dist.version}), not {said}"
            " as its key says; run `pipper verify`"
        )
    return dist


def read_records(storage: Storage, name: str, refs: list[RecordRef]) -> Records:
    """Every readable record of ``refs`` (GETs in parallel); file records win over format 1 records."""
    with ThreadPoolExecutor(min(WORKERS, max(len(refs), 1))) as pool:
        blobs = list(pool.map(lambda ref: storage.get(ref.key), refs))
    found = Records()
    v1: list[tuple[RecordRef, DistFile]] = []
    for ref, blob in zip(refs, blobs, strict=True):
        if blob is None:
            continue  # deleted meanwhile
        try:
            dist = read_record(storage, name, ref, blob.data)
        except NewerFormatError:
            raise
        except FormatError as exc:
            found.bad[ref.key] = str(exc)
            continue
        found.keys.setdefault((dist.version, dist.filename), []).append(ref.key)
        if ref.filename is None:
            v1.append((ref, dist))
        else:
            found.files[(dist.version, dist.filename)] = dist
            found.sources[(dist.version, dist.filename)] = ref.key
    for ref, dist in v1:
        if (dist.version, dist.filename) not in found.files:
            found.files[(dist.version, dist.filename)] = dist
            found.sources[(dist.version, dist.filename)] = ref.key
    return found


def record_keys_of(name: str, version: str, filename: str) -> tuple[str, str]:
    """The file record key and the format 1 record key that may hold a file's truth."""
    return record_key(name, version, filename), v1_record_key(name, version)
