"""A prune's unfinished changes to a package: ``pending/<name>.json``, so that a kill at any point leaves a
consistent repository.

Removing a version takes several writes (its records, the package index and its page, maybe the root
list, then the files) and no S3 request changes two objects at once. So before its first write to a
package, ``pipper prune`` writes this marker: every version it is about to delete or yank, with the files
(name and sha256) each change covers. It deletes the marker after its last write. While a marker exists:

* readers are unaffected: they read the index, which names a version until its records are gone, and the
  files go last;
* ``pipper verify`` accepts the in-between states of the listed files (an index entry whose record is
  already deleted, a file that no record names any more, a page or the root list one step behind, a yank
  in the records that the index does not show yet) and reports the marker as an unfinished prune, not as
  drift;
* the next ``pipper prune`` of the package finishes every deletion that was committed (a listed record is
  gone) and brings the index, the pages and the root list in line; a change not committed yet is decided
  again by that run's own plan.

Pipper versions without this module see the marker as an object outside the layout (``foreign-object``).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from .errors import FormatError, NewerFormatError
from .index import FORMAT_VERSION, MAX_INDEX, dumps, file_kind, loads
from .keys import PENDING_PREFIX, file_key, pending_key
from .schema import Fields, is_normalized_name
from .storage.base import Storage

DELETE, YANK = "delete", "yank"
ACTIONS = (DELETE, YANK)
PENDING_KEY = re.compile(r"^pending/([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.json$")
REPAIR = "run `pipper prune` again to finish, or check it with `pipper verify` and delete it by hand"
WORKERS = 8


@dataclass(frozen=True)
class PendingVersion:
    """One version's change: ``delete`` or ``yank``, of these files (file name -> sha256)."""

    action: str
    files: dict[str, str]


@dataclass
class PendingChanges:
    """The marker of one package: what a prune began, when."""

    name: str
    started: str
    versions: dict[str, PendingVersion] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return pending_key(self.name)

    def covers(self, version: str, filename: str, action: str) -> bool:
        """Whether the marker lists this file of this version for ``action``."""
        entry = self.versions.get(version)
        return entry is not None and entry.action == action and filename in entry.files

    def deleted_file_keys(self) -> set[str]:
        """The stored files (and their metadata sidecars) the marker's deletions cover."""
        keys = set()
        for entry in self.versions.values():
            if entry.action == DELETE:
                for filename, sha256 in entry.files.items():
                    key = file_key(self.name, sha256, filename)
                    keys |= {key, key + ".metadata"}
        return keys

    @property
    def deletes(self) -> bool:
        return any(entry.action == DELETE for entry in self.versions.values())

    def describe(self) -> str:
        """``acme: delete 1.0, 1.1; yank 1.2 (started 2026-11-30T02:00:00Z)``."""
        parts = []
        for action in ACTIONS:
            versions = sorted(v for v, entry in self.versions.items() if entry.action == action)
            if versions:
                parts.append(f"{action} {', '.join(versions)}")
        return f"{self.name}: {'; '.join(parts) or 'nothing'} (started {self.started or 'at an unknown time'})"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "started": self.started,
                "versions": {v: {"action": e.action, "files": dict(sorted(e.files.items()))}
                             for v, e in sorted(self.versions.items())}}

    def to_bytes(self) -> bytes:
        return dumps({"format": FORMAT_VERSION, "pending": self.to_json()})

    @classmethod
    def from_bytes(cls, data: bytes, origin: str, name: str) -> PendingChanges:
        value, _fmt = loads(data, origin, max_bytes=MAX_INDEX)
        f = Fields(value.get("pending"), origin, "pending", REPAIR)
        found = f.text("name", required=True, limit=200)
        if not is_normalized_name(found) or found != name:
            f.fail(f"'name' is {found[:100]!r}, not {name} as its key says")
        changes = cls(name, f.time("started"))
        for version, entry in f.obj("versions", required=True).items():
            where = Fields(entry, origin, f"pending version {version[:100]!r}", REPAIR)
            if not _normalized_version(version):
                where.fail("the key is not a normalized PEP 440 version")
            action = where.text("action", required=True, limit=20)
            if action not in ACTIONS:
                where.fail(f"'action' is {action[:20]!r}, not one of {', '.join(ACTIONS)}")
            files = {}
            for filename, sha256 in where.obj("files", required=True).items():
                if file_kind(filename, name, version) is None:
                    where.fail(f"{filename[:100]!r} is not a wheel or sdist file name of {name} {version}")
                files[filename] = Fields({"sha256": sha256}, origin, where.where, REPAIR).sha256("sha256")
            changes.versions[version] = PendingVersion(action, files)
        return changes


def _normalized_version(text: str) -> bool:
    try:
        return len(text) <= 200 and str(Version(text)) == text
    except InvalidVersion:
        return False


def read_pending(storage: Storage) -> tuple[dict[str, tuple[PendingChanges, str]], dict[str, str]]:
    """Every marker with its etag (one LIST, one GET each), and the unreadable ones (key -> why)."""
    keys = [key for key in storage.list(PENDING_PREFIX) if PENDING_KEY.match(key)]
    with ThreadPoolExecutor(min(WORKERS, max(len(keys), 1))) as pool:
        blobs = list(pool.map(storage.get, keys))
    found: dict[str, tuple[PendingChanges, str]] = {}
    bad: dict[str, str] = {}
    for key, blob in zip(keys, blobs, strict=True):
        if blob is None:
            continue  # finished meanwhile
        name = PENDING_KEY.match(key).group(1)  # type: ignore[union-attr]
        try:
            found[name] = (PendingChanges.from_bytes(blob.data, storage.location.key_url(key), name), blob.etag)
        except NewerFormatError:
            raise
        except FormatError as exc:
            bad[key] = str(exc)
    return found, bad
