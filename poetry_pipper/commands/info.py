from __future__ import annotations

from typing import TYPE_CHECKING

from cleo.helpers import argument, option

from .base import PipperCommand

if TYPE_CHECKING:
    from ..info import PackageInfo


class InfoCommand(PipperCommand):
    name = "info"
    description = "Show a package's installed version, its published versions, and whether an upgrade exists."
    arguments = [argument("package", "The package name.")]
    uses_repository = True
    json_output = "Print the result as JSON."
    options = [
        option("local", "l", "Only show what is installed here (no repository, no credentials)."),
        option("pre", None, "Count pre-releases as upgrades."),
    ]
    help = """  pipper info foo -b s3://my-bucket/pypi
  pipper info foo -l          # installed version only, works offline"""

    def perform(self) -> int:
        from ..info import package_info
        from ..install import installed_version
        from ..specs import normalize_name

        name = normalize_name(self.argument("package"))
        repo = None if self.option("local") else self.repository()
        info = package_info(repo, name, installed_version(name), pre=self.option("pre"))
        self.emit(info.to_json(), _text(info))
        return 1 if self.option("local") and info.installed is None else 0


def _text(info: PackageInfo) -> list[str]:
    from ..display import safe

    if info.index is None:
        return [f"{safe(info.name)}: {info.installed or 'not installed'}"]
    lines = [f"<info>{safe(info.index.display_name)}</info>  installed: {info.installed or 'not installed'}"]
    for v in reversed(info.index.versions()):
        release = info.index.releases[str(v)]
        marks = []
        if v == info.latest:
            marks.append("<info>latest</info>")
        if v == info.installed:
            marks.append("installed")
        if release.yanked:
            marks.append(f"<comment>yanked{': ' + safe(release.yanked_reason) if release.yanked_reason else ''}</comment>")
        if info.unfit and str(v) in info.unfit:
            marks.append("<comment>no file for this interpreter</comment>")
        lines.append(f"  {v}" + (f"  ({', '.join(marks)})" if marks else ""))
        lines += [f"      {safe(f.filename)}" + (" (yanked)" if f.yanked and not release.yanked else "")
                  for f in release.ordered()]
    if info.legacy:
        lines.append("<comment>Stored in the pipper 0.x layout (no sha256 recorded): `pipper migrate` converts it.</comment>")
    if info.upgrade_available:
        lines.append(f"Upgrade available: {info.installed} -> {info.latest} (pipper install -u {info.name})")
    return lines
