"""What ``pipper info`` reports: the installed version, the published versions, and the newest one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from .index import LEGACY_LAYOUT, PackageIndex
from .repository import Repository


@dataclass(frozen=True)
class PackageInfo:
    name: str
    installed: Version | None
    index: PackageIndex | None = None
    latest: Version | None = None

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
        releases = self.index.releases
        data.update(
            name=self.index.display_name,
            latest=str(self.latest) if self.latest else None,
            upgrade_available=self.upgrade_available,
            versions=[
                {"version": str(v), "yanked": releases[str(v)].yanked,
                 "sha256": releases[str(v)].meta.sha256 or None,
                 "published": releases[str(v)].published}
                for v in self.index.versions()
            ],
        )
        if self.legacy:
            data["layout"] = LEGACY_LAYOUT
        return data


def package_info(repo: Repository | None, name: str, installed: Version | None, *, pre: bool = False) -> PackageInfo:
    """The package as installed and, with a repository, as published (one GET)."""
    if repo is None:
        return PackageInfo(name, installed)
    index = repo.require_index(name)
    candidates = [v for v in index.versions() if not index.releases[str(v)].yanked and (pre or not v.is_prerelease)]
    return PackageInfo(name, installed, index, max(candidates, default=None))
