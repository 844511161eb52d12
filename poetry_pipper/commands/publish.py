from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cleo.helpers import argument, option

from ..errors import PipperError
from .base import PipperCommand
from .bundle import ProjectHooks

if TYPE_CHECKING:
    from ..publish import PublishResult
    from ..storage.base import Progress
    from ..uploads import Upload


class PublishCommand(ProjectHooks, PipperCommand):
    name = "publish"
    description = "Publish distributions (wheels, sdists, .pipper bundles) to the repository."
    arguments = [argument("file", "A .whl, an sdist (.tar.gz), a .pipper bundle, or a directory whose distributions"
                          " are all published (default: the current directory; dist/ under Poetry).", optional=True)]
    uses_repository = True
    json_output = "Print the result as JSON."
    options = [
        option("build", None, "Build the project first (as `bundle` does; under Poetry the wheel and the sdist),"
               " then publish what was built."),
        option("force", "f", "Replace a version that is already published with different content."),
    ]
    help = """Every file is checked first (a wheel whose name, version or tags disagree with its own
metadata, a broken sdist or bundle, a direct URL dependency: refused, nothing written). Then each
one is uploaded with its PEP 658 metadata and a record, and the package index and the PEP 503
pages are updated. A version may hold any number of files (a wheel per platform and Python, built
by separate CI jobs, and one sdist): adding a file to a published version needs no --force.
Publishing the same file again does nothing ("already published", exit 0); the same file name
with other bytes is refused unless -f/--force is given. A directory is published like
`twine upload dist/*`. Concurrent publishers never lose each other's files.

  pipper publish dist/ -b s3://my-bucket/pypi             # every .whl, .tar.gz and .pipper in dist/
  pipper publish foo-1.0.0-cp312-cp312-manylinux_2_28_x86_64.whl -b s3://my-bucket/pypi
  pipper publish foo-1.0.0.pipper -b ./local-repo
  pipper publish --build -r team          # bundle the project here, publish to repository 'team'
  poetry pipper publish -r private --build  # the Poetry project's wheel and sdist, to its source 'private'"""

    def perform(self) -> int:
        from ..publish import publish_paths
        from ..uploads import distributions

        if self.option("build"):
            paths = self.build_for_publish(self.default_bundle_dir())
        else:
            source = Path(self.argument("file")) if self.argument("file") else self.default_bundle_dir()
            if not source.exists():
                raise PipperError(f"{source}: no such file or directory")
            paths = distributions(source) if source.is_dir() else [source]
        repo = self.repository()
        bars = []

        def progress(upload: Upload) -> Progress | None:
            bar = self.transfer_progress(upload.dist.size, f"uploading {upload.dist.filename}")
            bars.append(bar)
            return bar

        results = publish_paths(repo, paths, force=self.option("force"), progress=progress)
        for bar in bars:
            if bar is not None:
                bar.finish()
        # One file given: one JSON object; a directory or --build: a list, whatever its length.
        single = not self.option("build") and self.argument("file") and not Path(self.argument("file")).is_dir()
        self.emit(_result(results[0]) if single else [_result(r) for r in results],
                  [_line(r, repo.location) for r in results])
        return 0


def _result(result: PublishResult) -> dict[str, str]:
    dist = result.dist
    return {"name": dist.name, "version": dist.version, "filename": dist.filename, "sha256": dist.sha256,
            "status": result.status, "url": result.url}


def _line(result: PublishResult, where: object) -> str:
    from ..display import safe

    dist = result.dist
    if result.status == "already published":
        return f"{safe(dist.filename)} already published (same sha256); nothing to do"
    return f"{result.status.capitalize()} <info>{safe(dist.name)} {dist.version}</info> ({safe(dist.filename)}) to {safe(where)}"
