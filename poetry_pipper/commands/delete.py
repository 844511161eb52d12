from __future__ import annotations

from cleo.helpers import argument, option

from ..errors import PipperError
from .base import PipperCommand


class DeleteCommand(PipperCommand):
    name = "delete"
    description = "Remove a published version completely: its record, index entry, simple-page link and files."
    arguments = [argument("package", "NAME:VERSION (or NAME==VERSION): one exact version.")]
    uses_repository = True
    json_output = "Print the result as JSON."
    options = [
        option("yes", "y", "Really delete (required: deleting cannot be undone)."),
    ]
    help = """Deleting breaks every build that pins the version; prefer `pipper yank`, which keeps
exact pins working. The release record goes first (from then on the version is unpublished),
then the index entry and the PEP 503 link, then the wheel and its metadata. When the last
version of a package goes, the package leaves the root list and `pipper info` no longer finds
it; publishing it again later works as for a new package.

  pipper delete foo:1.2.3 -b s3://my-bucket/pypi --yes"""

    def perform(self) -> int:
        from ..lifecycle import delete, exact_version

        text = self.argument("package")
        name, version = exact_version(text, "delete")
        if not self.option("yes"):
            raise PipperError(f"deleting {name} {version} cannot be undone: add --yes to confirm (or use `pipper yank`)")
        repo = self.repository()
        release = delete(repo, text)
        meta = release.meta
        self.emit({"name": meta.name, "version": meta.version, "sha256": meta.sha256, "deleted": True},
                  [f"Deleted <info>{meta.name} {meta.version}</info> from {repo.location}"])
        return 0
