from __future__ import annotations

from pathlib import Path

from cleo.helpers import argument, option

from ..errors import PipperError
from .base import PipperCommand
from .bundle import ProjectHooks


def newest_bundle(directory: Path) -> Path:
    bundles = [p for p in directory.glob("*.pipper") if p.is_file()]
    if not bundles:
        raise PipperError(f"no .pipper bundle in {directory}: run `pipper bundle` first, or pass a file")
    return max(bundles, key=lambda p: (p.stat().st_mtime_ns, p.name))


class PublishCommand(ProjectHooks, PipperCommand):
    name = "publish"
    description = "Publish a .pipper bundle (or a wheel) to the repository."
    arguments = [argument("file", "A .pipper bundle, a .whl, or a directory whose newest .pipper is used"
                          " (default: the current directory; dist/ under Poetry).", optional=True)]
    uses_repository = True
    json_output = "Print the result as JSON."
    options = [
        option("build", None, "Bundle the project first (as `bundle` does), then publish that bundle."),
        option("force", "f", "Replace a version that is already published with different content."),
    ]
    help = """Uploads the wheel, its PEP 658 metadata and a release record, then updates the
package index and the PEP 503 simple pages. Publishing the same version with the same
content again does nothing ("already published", exit 0); different content is refused
unless -f/--force is given. Concurrent publishers never lose each other's versions.

  pipper publish dist/ -b s3://my-bucket/pypi
  pipper publish foo-1.0.0.pipper -b ./local-repo
  pipper publish --build -r team          # bundle the project here, publish to repository 'team'
  poetry pipper publish -r private --build  # the Poetry project, to its s3:// source 'private'"""

    def perform(self) -> int:
        from ..publish import publish_file

        if self.option("build"):
            source, _ = self.build_bundle(None, self.default_bundle_dir())
        else:
            source = Path(self.argument("file")) if self.argument("file") else self.default_bundle_dir()
        if source.is_dir():
            source = newest_bundle(source)
        elif not source.exists():
            raise PipperError(f"{source}: no such file or directory")
        repo = self.repository()
        progress = self.transfer_progress(source.stat().st_size, f"uploading {source.name}")
        result = publish_file(repo, source, force=self.option("force"), progress=progress)
        if progress:
            progress.finish()
        meta = result.release.meta
        if result.status == "already published":
            text = f"{meta.name} {meta.version} already published (same sha256); nothing to do"
        else:
            text = f"{result.status.capitalize()} <info>{meta.name} {meta.version}</info> to {repo.location}"
        self.emit({"name": meta.name, "version": meta.version, "sha256": meta.sha256,
                   "status": result.status, "url": result.url}, [text])
        return 0
