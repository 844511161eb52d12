"""Shared by the prune tests: packages published on the spot, upload times moved back, the bucket's state."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import replace
from pathlib import Path

from packaging.version import Version

from poetry_pipper.keys import JSON_TYPE, record_key
from poetry_pipper.publish import publish_file
from poetry_pipper.records import read_records, record_refs
from poetry_pipper.reindex import reindex
from poetry_pipper.repository import Repository
from poetry_pipper.schema import parse_time, rfc3339
from poetry_pipper.verify import VerifyReport, verify

from .helpers import make_sdist, make_wheel


def publish(repo: Repository, tmp_path: Path, name: str, versions: list[str], *, sdist: tuple[str, ...] = ()) -> None:
    """A wheel of each version (and an sdist of the versions in ``sdist``), published in this process."""
    for version in versions:
        where = tmp_path / "made" / uuid.uuid4().hex[:8]
        publish_file(repo, make_wheel(where, name, version))
        if version in sdist:
            publish_file(repo, make_sdist(where, name, version))


def backdate(repo: Repository, name: str, days: float, versions: list[str] | None = None) -> None:
    """Move the upload time of a package's files (of ``versions``, else all) ``days`` back: records, then reindex."""
    storage = repo.storage
    for (version, filename), dist in read_records(storage, name, record_refs(storage, name)).files.items():
        if versions is None or version in versions:
            when = parse_time(dist.upload_time) or datetime.datetime.now(datetime.UTC)
            moved = replace(dist, upload_time=rfc3339(when - datetime.timedelta(days=days)))
            storage.put(record_key(name, version, filename), moved.record_bytes(), content_type=JSON_TYPE)
    reindex(repo)


def versions(repo: Repository, name: str) -> list[str]:
    index = repo.package_index(name, legacy=False)
    return sorted(index.releases, key=Version) if index else []


def snapshot(repo: Repository) -> dict[str, bytes]:
    """Every object under the repository root and its bytes."""
    found = {}
    for key in repo.storage.list(""):
        blob = repo.storage.get(key)
        if blob is not None:
            found[key] = blob.data
    return found


def clean(repo: Repository) -> VerifyReport:
    """verify finds no drift (an unfinished prune is allowed: its marker is reported, not drift)."""
    report = verify(repo)
    assert report.ok, [p.line() for p in report.problems]
    return report
