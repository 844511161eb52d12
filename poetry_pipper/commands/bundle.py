from __future__ import annotations

from pathlib import Path

from cleo.helpers import argument, option

from .base import PipperCommand


class BundleCommand(PipperCommand):
    name = "bundle"
    description = "Build a wheel from a Python project (or take a .whl) and write NAME-VERSION.pipper."
    arguments = [argument("source", "Project directory (any PEP 517 backend) or a .whl file.", optional=True, default=".")]
    options = [
        option("output", "o", "Directory for the bundle (created if missing).", flag=False, default="."),
        option("no-isolation", None, "Build with the backend already installed here (pip --no-build-isolation)."),
        option("json", None, "Print the result as JSON."),
    ]
    help = """Builds a wheel with pip in a private copy of the project, so a stale wheel in dist/
is never picked up and nothing is written into the source tree, then writes a reproducible
<name>-<version>.pipper bundle: the wheel plus its metadata and the 'dependencies' list of the
project's pipper.json, if there is one.

  pipper bundle .                 # bundle the project in the current directory
  pipper bundle ./lib -o dist     # into dist/
  pipper bundle dist/foo-1.0-py3-none-any.whl"""

    def perform(self) -> int:
        from ..bundle import make_bundle, sha256_file

        path, meta = make_bundle(
            Path(self.argument("source")),
            Path(self.option("output")),
            isolation=not self.option("no-isolation"),
            verbose=self.io.is_verbose(),
        )
        digest = sha256_file(path)
        if self.option("json"):
            self.emit_json({"path": str(path), "name": meta.name, "version": meta.version, "sha256": digest})
        else:
            self.line(f"Bundled <info>{meta.name} {meta.version}</info>: {path}")
            self.line(f"sha256 {digest}")
        return 0
