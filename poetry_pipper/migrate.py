"""``pipper migrate``: every pipper 0.x bundle under the root, published again in the current format.

The 0.x objects are left in place (pipper 0.x keeps working during the switch); reading them
where no new index exists is :mod:`.legacy`'s job.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from .errors import AlreadyPublished, FormatError, PipperError
from .legacy import Bundle, find_bundles, read_legacy_bundle
from .publish import publish_upload
from .repository import Repository
from .schema import is_normalized_name
from .uploads import wheel_upload


@dataclass(frozen=True)
class Outcome:
    """What happened to one 0.x bundle."""

    key: str
    name: str
    version: str
    status: str  # "migrated", "already present", "would migrate", "failed"
    detail: str = ""
    sha256: str = ""

    def to_json(self) -> dict[str, str]:
        data = {"key": self.key, "name": self.name, "version": self.version, "status": self.status}
        if self.detail:
            data["detail"] = self.detail
        if self.sha256:
            data["sha256"] = self.sha256
        return data


STATUSES = ("migrated", "already present", "would migrate", "failed")


def migrate(repo: Repository, *, dry_run: bool = False, report: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Publish every 0.x bundle's wheel in the new format; the 0.x objects are left as they are.

    Idempotent and resumable: a version already published with the same wheel is "already
    present" (the protocol finishes whatever an interrupted run left undone). One bundle's
    failure is recorded and the others still migrate. ``dry_run`` downloads nothing: it reads
    each package's new index once and says which versions it lacks.
    """
    outcomes: list[Outcome] = []
    present: dict[str, set[str]] = {}

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if report:
            report(outcome)

    try:
        for bundle in find_bundles(repo.storage):
            _one(repo, bundle, dry_run, present, done)
    except PipperError as exc:
        migrated = sum(1 for o in outcomes if o.status == "migrated")
        if not migrated:
            raise
        raise PipperError(f"{exc} [migrate had migrated {migrated} bundle(s) before this failure: run it again to"
                          " resume]") from None
    return outcomes


def _one(repo: Repository, bundle: Bundle, dry_run: bool, present: dict[str, set[str]],
         done: Callable[[Outcome], None]) -> None:
    """One 0.x bundle: migrated (or, dry, whether it would be), else what is wrong with it."""
    url = repo.storage.location.key_url(bundle.key)
    if bundle.version is None:
        done(Outcome(bundle.key, bundle.folder, "", "failed",
                     f"{url}: not a pipper 0.x version name (v1-2-3[__pre_...][__build_...]) that PEP 440 can express"))
        return
    version = str(bundle.version)
    project = canonicalize_name(bundle.folder)
    if not is_normalized_name(project):
        done(Outcome(bundle.key, "", version, "failed",
                     f"{url}: its folder is not a package name (letters, digits, '.', '_', '-'); left as it is"))
        return
    try:
        if dry_run:
            if project not in present:
                present[project] = _published_versions(repo, project)
            done(Outcome(bundle.key, bundle.folder, version,
                         "already present" if version in present[project] else "would migrate"))
        else:
            done(_migrate_one(repo, bundle, version))
    except PipperError as exc:
        done(Outcome(bundle.key, bundle.folder, version, "failed", str(exc)))


def _published_versions(repo: Repository, project: str) -> set[str]:
    index = repo.package_index(project, legacy=False)
    return set(index.releases) if index is not None else set()


def _migrate_one(repo: Repository, bundle: Bundle, version: str) -> Outcome:
    url = repo.storage.location.key_url(bundle.key)
    with tempfile.TemporaryDirectory(prefix="pipper-migrate-") as tmp:
        meta, wheel = read_legacy_bundle(repo.storage, bundle.key, Path(tmp))
        if meta.version != version or meta.project != canonicalize_name(bundle.folder):
            raise FormatError(f"{url} holds {meta.wheel_name}, not {bundle.folder} {version} as its name says; left as it is")
        try:
            result = publish_upload(repo, wheel_upload(wheel, meta.dependencies, sha256=meta.sha256))
        except AlreadyPublished:
            raise AlreadyPublished(
                f"{meta.name} {version} is already published in the new layout with a different wheel than"
                f" {url} (sha256 {meta.sha256[:12]}...): both were left as they are; compare them"
                f" (`pipper info {meta.name} --json`), then delete the wrong one"
            ) from None
    status = "migrated" if result.status == "published" else "already present"
    return Outcome(bundle.key, meta.name, version, status, sha256=meta.sha256)


def summarize(outcomes: list[Outcome]) -> dict[str, int]:
    counts = {"found": len(outcomes)}
    for status in STATUSES:
        counts[status.replace(" ", "_")] = sum(1 for o in outcomes if o.status == status)
    return counts
