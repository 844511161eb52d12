from __future__ import annotations

from cleo.helpers import argument, option

from .base import PipperCommand, repository_options


class InfoCommand(PipperCommand):
    name = "info"
    description = "Show a package's installed version, its published versions, and whether an upgrade exists."
    arguments = [argument("package", "The package name.")]
    options = [
        *repository_options(),
        option("local", "l", "Only show what is installed here (no repository, no credentials)."),
        option("pre", None, "Count pre-releases as upgrades."),
        option("json", None, "Print the result as JSON."),
    ]
    help = """  pipper info foo -b s3://my-bucket/pypi
  pipper info foo -l          # installed version only, works offline"""

    def perform(self) -> int:
        from ..install import installed_version
        from ..specs import normalize_name

        name = normalize_name(self.argument("package"))
        installed = installed_version(name)
        result: dict[str, object] = {"name": name, "installed": str(installed) if installed else None}
        if self.option("local"):
            if self.option("json"):
                self.emit_json(result)
            else:
                self.line(f"{name}: {installed or 'not installed'}")
            return 0 if installed else 1
        from ..legacy import LegacyIndex

        index = self.repository().require_index(name)
        # Iterating never reads a bundle: for a pipper 0.x package these are the listed stubs.
        releases = dict(index.releases.items())
        legacy = isinstance(index, LegacyIndex)
        pre = self.option("pre")
        versions = index.versions()
        candidates = [v for v in versions if not releases[str(v)].yanked and (pre or not v.is_prerelease)]
        latest = max(candidates, default=None)
        result.update(
            name=index.display_name,
            latest=str(latest) if latest else None,
            upgrade_available=bool(latest and installed and latest > installed),
            versions=[
                {"version": str(v), "yanked": releases[str(v)].yanked,
                 "sha256": releases[str(v)].meta.sha256 or None,
                 "published": releases[str(v)].published}
                for v in versions
            ],
        )
        if legacy:
            result["layout"] = "pipper 0.x"
        if self.option("json"):
            self.emit_json(result)
            return 0
        self.line(f"<info>{index.display_name}</info>  installed: {installed or 'not installed'}")
        for v in reversed(versions):
            release = releases[str(v)]
            marks = []
            if v == latest:
                marks.append("<info>latest</info>")
            if v == installed:
                marks.append("installed")
            if release.yanked:
                marks.append(f"<comment>yanked{': ' + release.yanked_reason if release.yanked_reason else ''}</comment>")
            self.line(f"  {v}" + (f"  ({', '.join(marks)})" if marks else ""))
        if legacy:
            self.line("<comment>Stored in the pipper 0.x layout (no sha256 recorded): `pipper migrate` converts it.</comment>")
        if result["upgrade_available"]:
            self.line(f"Upgrade available: {installed} -> {latest} (pipper install -u {name})")
        return 0
