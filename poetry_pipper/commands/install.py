from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from cleo.helpers import argument, option

from ..errors import PipperError
from .base import PipperCommand

if TYPE_CHECKING:
    from ..install import Destination, Step
    from ..piprun import EarlyPip


class InstallCommand(PipperCommand):
    name = "install"
    description = "Install private packages and their private dependencies with one pip run."
    arguments = [argument("packages", "NAME[:SPEC], PEP 508 specs (extras and markers too), .pipper bundles, .whl or"
                          " sdist files.", optional=True, multiple=True)]
    uses_repository = True
    json_output = "With --dry-run: print the plan as JSON."
    options = [
        option("input", "i", "Read specs from a pipper.json-style file (default: ./pipper.json), or install from a"
               " pre-authorized file or page made by `pipper authorize` (no -b, no credentials).", flag=False),
        option("upgrade", "u", "Upgrade installed packages to the newest matching version."),
        option("pre", None, "Consider pre-releases."),
        option("dry-run", None, "Print the plan (name, version, source) and install nothing."),
        option("target", "t", "Install into this directory (pip --target).", flag=False),
        option("user", None, "Install into the user site (pip --user)."),
        option("only-binary", None, "Never choose an sdist of a private package (pip --only-binary :all:): a"
               " version without a wheel for this interpreter is skipped."),
    ]
    help = """Resolves the newest private versions that satisfy every constraint, downloads the
wheels in parallel (verified by sha256, cached by hash), then runs pip once. Private names
are only ever taken from the repository; pip resolves public dependencies from your normal
pip configuration.

  pipper install foo -b s3://my-bucket/pypi
  pipper install 'foo>=1.2,<2' bar:1.* -u
  pipper install ./foo-1.0.0.pipper
  pipper install -i pipper.json --dry-run
  pipper install -i preauth.json          # links from `pipper authorize -o`: no AWS credentials"""

    def perform(self) -> int:
        early = None
        python = None if self.option("dry-run") else self.early_python()
        if python is not None:
            from ..piprun import EarlyPip

            early = EarlyPip(python, verbose=self.io.is_verbose())  # imports pip while we resolve and download
        try:
            return self._install(early)
        finally:
            if early is not None:
                early.discard()  # when it was not needed (or the install failed before pip)

    def _install(self, early: EarlyPip | None) -> int:
        from ..display import safe
        from ..install import local_picks, needs_repository, plan_install, run_install, split_items
        from ..sources import ReleaseSource

        preauthorized = None
        if self.option("input"):  # (authorize.py is imported only then)
            from ..authorize import open_preauthorized

            preauthorized = open_preauthorized(self.option("input"), bucket=self.option("bucket"))
        if preauthorized is not None:
            items = preauthorized.requested(list(self.argument("packages") or []))
        else:
            items = self.requested(default_file=True)
        names, files = split_items(items)
        if self.option("target") and self.option("user"):
            raise PipperError("--target and --user cannot be combined (as in pip)")
        with tempfile.TemporaryDirectory(prefix="pipper-install-") as tmp:
            local, local_files = local_picks(files, Path(tmp))
            repo: ReleaseSource | None = preauthorized
            if repo is None and needs_repository(names, local) and (names or self.has_repository()):
                repo = self.repository()
            pre = self.option("pre") or bool(preauthorized and preauthorized.pre)
            steps, destination, resolution = plan_install(
                repo, names, local, local_files, self.install_destination, pre=pre,
                upgrade=self.option("upgrade"), allow_sdist=not self.option("only-binary"))
            for spec in resolution.ignored:
                self.line_error(f"Ignoring {safe(spec)}: its markers don't match this environment")
            for line in resolution.warnings:
                self.line_error(f"<comment>warning: {safe(line)}</comment>")
            if self.option("dry-run"):
                self._show_plan(steps)
                return 0
            for step in steps:
                if step.action == "keep":
                    self.line(f"{safe(step.name)} {step.installed} already installed (use -u to upgrade)")
            changing = [s for s in steps if s.action != "keep"]
            if changing:
                self.line(f"Installing {', '.join(f'{safe(s.name)} {s.version}' for s in changing)}")
            output = run_install(repo, steps, destination, verbose=self.io.is_verbose(), early=early,
                                 progress=lambda d: self.transfer_progress(d.size, f"downloading {d.filename}"))
            if output is None:
                return 0
            done = [line for line in output.splitlines() if line.startswith("Successfully installed")]
            self.line(safe(done[-1]) if done else "Done")
            self.after_install(changing)
        return 0

    # Hooks for the Poetry front door, which installs into the project's virtualenv.

    def early_python(self) -> str | None:
        """The interpreter pip installs into when it is known before resolving: pip is started at once."""
        return sys.executable

    def install_destination(self) -> Destination:
        """Where pip installs: the interpreter running pipper, with --target/--user."""
        from ..install import Destination

        directory = Path(self.option("target")).resolve() if self.option("target") else None
        return Destination(directory=directory, user=self.option("user"))

    def after_install(self, steps: list[Step]) -> None:
        """Called after a successful install."""

    def _show_plan(self, steps: list[Step]) -> None:
        from ..display import safe

        self.emit(
            [{"name": s.name, "version": s.version, "action": s.action, "file": s.dist.filename,
              "installed": str(s.installed) if s.installed else None, "source": s.source} for s in steps],
            [safe(f"{s.action:8} {s.name} {s.version}{f' (installed {s.installed})' if s.installed else ''}"
                  f"  {s.dist.filename} from {s.source}") for s in steps],
        )
