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
        option("file", None, "Delete only this file of the version (e.g. one platform wheel), not the whole version.",
               flag=False),
    ]
    help = """Deleting breaks every build that pins the version; prefer `pipper yank`, which keeps
exact pins working. The records go first (from then on the version is unpublished), then the
index entry and the PEP 503 links, then the files and their metadata. --file deletes one file of
the version (a wheel built wrongly, say) and leaves the others. When the last
version of a package goes, the package leaves the root list and `pipper info` no longer finds
it; publishing it again later works as for a new package.

  pipper delete foo:1.2.3 -b s3://my-bucket/pypi --yes
  pipper delete foo:1.2.3 --file foo-1.2.3-cp312-cp312-win_amd64.whl -b s3://my-bucket/pypi --yes"""

    def perform(self) -> int:
        from ..display import safe
        from ..lifecycle import delete, exact_version

        text = self.argument("package")
        name, version = exact_version(text, "delete")
        if not self.option("yes"):
            raise PipperError(f"deleting {name} {version} cannot be undone: add --yes to confirm (or use `pipper yank`)")
        repo = self.repository()
        files = delete(repo, text, filename=self.option("file"))
        what = f"{files[0].name} {files[0].version}"
        detail = f" ({', '.join(f.filename for f in files)})" if self.option("file") or len(files) > 1 else ""
        self.emit({"name": files[0].name, "version": files[0].version, "deleted": True,
                   "files": [{"filename": f.filename, "sha256": f.sha256} for f in files]},
                  [f"Deleted <info>{safe(what)}</info>{safe(detail)} from {safe(repo.location)}"])
        return 0
