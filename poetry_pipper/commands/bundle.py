from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cleo.helpers import argument, option

from .base import PipperCommand

if TYPE_CHECKING:
    from ..bundle import BundleMeta


class ProjectHooks:
    """Where the project and its bundles are, and how a bundle is built.

    The standalone CLI builds any PEP 517 project with pip, from the current directory into
    it; the Poetry front door overrides these to use Poetry's own builder and ``dist/``.
    """

    isolation: bool = True
    verbose: bool = False

    def default_source(self) -> Path:
        return Path(".")

    def default_bundle_dir(self) -> Path:
        return Path(".")

    def build_for_publish(self, out_dir: Path) -> list[Path]:
        """What ``publish --build`` publishes: the project's bundle (under Poetry, its sdist too)."""
        return [self.build_bundle(None, out_dir)[0]]

    def build_bundle(self, source: Path | None, out_dir: Path) -> tuple[Path, BundleMeta]:
        from ..bundle import make_bundle

        return make_bundle(source or self.default_source(), out_dir, isolation=self.isolation, verbose=self.verbose)


class BundleCommand(ProjectHooks, PipperCommand):
    name = "bundle"
    description = "Build a wheel from a Python project (or take a .whl) and write NAME-VERSION.pipper."
    arguments = [argument("source", "Project directory (any PEP 517 backend) or a .whl file (default: the current project).", optional=True)]
    json_output = "Print the result as JSON."
    options = [
        option("output", "o", "Directory for the bundle, created if missing (default: the current directory; dist/ under Poetry).", flag=False),
        option("no-isolation", None, "Build with the backend already installed here (pip --no-build-isolation)."),
    ]
    help = """Builds a wheel in a private copy of the project, so a stale wheel in dist/ is never
picked up and nothing is written into the source tree, then writes a reproducible
<name>-<version>.pipper bundle: the wheel plus its metadata and the 'dependencies' list of the
project's pipper.json, if there is one. `pipper bundle` builds with pip (any PEP 517 backend);
`poetry pipper bundle` builds the current Poetry project with Poetry's own builder into dist/.

The same source gives byte-identical bundles: the build runs with SOURCE_DATE_EPOCH set to
your SOURCE_DATE_EPOCH if set, else the project's last git commit time (git -C DIR log -1
--format=%ct, when DIR is in a git work tree), else 1580601600 (2020-02-02 00:00:00 UTC).
The project's requires-python is not checked against the Python running the build.

  pipper bundle .                 # bundle the project in the current directory
  pipper bundle ./lib -o dist     # into dist/
  pipper bundle dist/foo-1.0-py3-none-any.whl"""

    def perform(self) -> int:
        from ..display import safe
        from ..download import sha256_file

        self.isolation = not self.option("no-isolation")
        self.verbose = self.io.is_verbose()
        source = self.argument("source")
        output = self.option("output")
        path, meta = self.build_bundle(Path(source) if source else None,
                                       Path(output) if output else self.default_bundle_dir())
        digest = sha256_file(path)
        self.emit({"path": str(path), "name": meta.name, "version": meta.version, "sha256": digest},
                  [f"Bundled <info>{safe(meta.name)} {meta.version}</info>: {safe(path)}", f"sha256 {digest}"])
        return 0
