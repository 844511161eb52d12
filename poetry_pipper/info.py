"""What ``pipper info`` reports: the installed version, the published versions and their files, the newest one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from .index import LEGACY_LAYOUT, PackageIndex, Release
from .repository import Repository
from .targets import NoCompatibleFile, Target, choose


@dataclass(frozen=True)
class PackageInfo:
    name: str
    installed: Version | None
    index: PackageIndex | None = None
    latest: Version | None = None
    #: versions none of whose files can be installed on this interpreter -> why
    unfit: dict[str, str] | None = None

    @property
    def upgrade_available(self) -> bool:
        return bool(self.latest and self.installed and self.latest > self.installed)

    @property
    def legacy(self) -> bool:
        """Stored in the pipper 0.x layout (no sha256 recorded)."""
        return self.index is not None and self.index.layout == LEGACY_LAYOUT

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "installed": str(self.installed) if self.installed else None}
        if self.index is None:
            return data
        # Iterating never reads a bundle: for a pipper 0.x package these are the listed stubs.
        data.update(
            name=self.index.display_name,
            latest=str(self.latest) if self.latest else None,
            upgrade_available=self.upgrade_available,
            versions=[self._version(str(v)) for v in self.index.versions()],
        )
        if self.legacy:
            data["layout"] = LEGACY_LAYOUT
        return data

    def _version(self, version: str) -> dict[str, Any]:
        assert self.index is not None
        release = self.index.releases[version]
        files = release.ordered()
        unfit = (self.unfit or {}).get(version)
        return {"version": version, "yanked": release.yanked, "published": release.published,
                "sha256": files[0].sha256 if len(files) == 1 else None,
                "installable": unfit is None, "why_not": unfit,
                "files": [{"filename": f.filename, "sha256": f.sha256, "size": f.size,
                           "requires_python": f.requires_python, "upload_time": f.upload_time,
                           "yanked": f.yanked} for f in files]}


def _unfit(release: Release, target: Target) -> str | None:
    if not release.files:  # a pipper 0.x stub: its bundle is not read just to list it
        return None
    try:
        choose(release.ordered(), target)
    except NoCompatibleFile as exc:
        return str(exc)
    return None


def package_info(repo: Repository | None, name: str, installed: Version | None, *, pre: bool = False) -> PackageInfo:
    """The package as installed and, with a repository, as published (one GET)."""
    if repo is None:
        return PackageInfo(name, installed)
    index = repo.require_index(name)
    target = Target.current()
    unfit = {v: why for v, release in index.releases.items() if (why := _unfit(release, target)) is not None}
    candidates = [v for v in index.versions()
                  if not index.releases[str(v)].yanked and (pre or not v.is_prerelease) and str(v) not in unfit]
    return PackageInfo(name, installed, index, max(candidates, default=None), unfit)
