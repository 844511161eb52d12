from __future__ import annotations

from typing import TYPE_CHECKING

from cleo.helpers import argument, option

from .base import PipperCommand

if TYPE_CHECKING:
    from ..index import Release


class YankCommand(PipperCommand):
    name = "yank"
    description = "Mark a published version as yanked (PEP 592): kept, but skipped unless pinned exactly."
    arguments = [argument("package", "NAME:VERSION (or NAME==VERSION): one exact version.")]
    uses_repository = True
    json_output = "Print the result as JSON."
    options = [
        option("reason", None, "Why it was yanked; shown by pip, Poetry and `pipper info`.", flag=False, default=""),
    ]
    help = """Yanks every file of the version (its wheels and sdist). A yanked version stays
downloadable, so builds that pin it exactly keep working,
but resolvers skip it otherwise: `pipper install foo` and `foo:1.*` take the newest version
that is not yanked, `pipper install foo:1.2.3` (==, no wildcard) still gets 1.2.3. pip and
Poetry see it as data-yanked in the simple pages and in the package index. Yanking an already
yanked version only changes the reason; `pipper unyank` undoes it.

  pipper yank foo:1.2.3 -b s3://my-bucket/pypi --reason "corrupts the cache, use 1.2.4"
  pipper unyank foo:1.2.3 -b s3://my-bucket/pypi"""

    def perform(self) -> int:
        from ..lifecycle import yank

        release, changed = yank(self.repository(), self.argument("package"), self.option("reason") or "")
        return self.report(release, changed, "yanked")

    def report(self, release: Release, changed: bool, what: str) -> int:
        from ..display import safe

        files = len(release.files)
        if changed:
            reason = f" ({safe(release.yanked_reason)})" if release.yanked and release.yanked_reason else ""
            text = f"{what.capitalize()} <info>{safe(release.name)} {release.version}</info>{reason}" \
                + (f": {files} files" if files > 1 else "")
        else:
            text = f"{safe(release.name)} {release.version} is already {what}; nothing to do"
        self.emit({"name": release.name, "version": release.version, "yanked": release.yanked,
                   "yanked_reason": release.yanked_reason, "changed": changed,
                   "files": [f.filename for f in release.ordered()]}, [text])
        return 0


class UnyankCommand(YankCommand):
    name = "unyank"
    description = "Undo `pipper yank`: the version is offered to resolvers again."
    options = []
    help = """  pipper unyank foo:1.2.3 -b s3://my-bucket/pypi"""

    def perform(self) -> int:
        from ..lifecycle import unyank

        release, changed = unyank(self.repository(), self.argument("package"))
        return self.report(release, changed, "unyanked")
