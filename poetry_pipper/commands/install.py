from __future__ import annotations

import tempfile
from pathlib import Path

from cleo.helpers import argument, option

from ..errors import PipperError
from .base import PipperCommand, repository_options


class InstallCommand(PipperCommand):
    name = "install"
    description = "Install private packages and their private dependencies with one pip run."
    arguments = [argument("packages", "NAME[:SPEC], PEP 508 specs, .pipper bundles or .whl files.", optional=True, multiple=True)]
    options = [
        *repository_options(),
        option("input", "i", "Read specs from a pipper.json-style file (default: ./pipper.json), or install from a"
               " pre-authorized file or page made by `pipper authorize` (no -b, no credentials).", flag=False),
        option("upgrade", "u", "Upgrade installed packages to the newest matching version."),
        option("pre", None, "Consider pre-releases."),
        option("dry-run", None, "Print the plan (name, version, source) and install nothing."),
        option("target", "t", "Install into this directory (pip --target).", flag=False),
        option("user", None, "Install into the user site (pip --user)."),
        option("json", None, "With --dry-run: print the plan as JSON."),
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
        from ..authorize import open_preauthorized
        from ..install import Source, fetch, local_release, pip_install, plan, resolve
        from ..specs import PackageSpec, normalize_name, parse_specs

        preauthorized = open_preauthorized(self.option("input"), bucket=self.option("bucket"))
        if preauthorized is not None:
            items = preauthorized.requested(list(self.argument("packages") or []))
        else:
            items = self.requested(default_file=True)
        files = [i for i in items if i.endswith((".pipper", ".whl"))]
        names = [i for i in items if i not in files]
        target = Path(self.option("target")).resolve() if self.option("target") else None
        if target is not None and self.option("user"):
            raise PipperError("--target and --user cannot be combined (as in pip)")
        with tempfile.TemporaryDirectory(prefix="pipper-install-") as tmp:
            local = {}
            local_wheels = {}
            for number, item in enumerate(files):
                workdir = Path(tmp, str(number))
                workdir.mkdir()
                release, wheel = local_release(Path(item), workdir)
                local[release.project] = release
                local_wheels[release.project] = wheel
            specs = parse_specs(names)
            specs += [PackageSpec(normalize_name(name), text=str(local_wheels[name])) for name in local]
            needs_repo = bool(names) or any(
                True for r in local.values() if r.meta.requires_dist or r.meta.dependencies
            )
            repo: Source | None = preauthorized or (
                self.repository() if needs_repo and (names or self.has_repository()) else None
            )
            pre = self.option("pre") or bool(preauthorized and preauthorized.pre)
            resolution = resolve(repo, specs, pre=pre, local=local)
            steps = plan(
                resolution,
                source=str(repo.location) if repo else "local",
                upgrade=self.option("upgrade"),
                target=target,
                local_wheels=local_wheels,
                search_path=self.installed_search_path(),
            )
            if self.option("dry-run"):
                self._show_plan(steps)
                return 0
            fetch(repo, steps, lambda r: self.transfer_progress(r.meta.size, f"downloading {r.meta.wheel_name}"))
            wheels = [s.wheel for s in steps if s.action != "keep" and s.wheel is not None]
            for step in steps:
                if step.action == "keep":
                    self.line(f"{step.name} {step.installed} already installed (use -u to upgrade)")
            if not wheels:
                return 0
            self.line(f"Installing {', '.join(f'{s.name} {s.version}' for s in steps if s.action != 'keep')}")
            output = pip_install(
                wheels, target=target, user=self.option("user"), verbose=self.io.is_verbose(),
                python=self.target_python(),
            )
            done = [line for line in output.splitlines() if line.startswith("Successfully installed")]
            self.line(done[-1] if done else "Done")
            self.after_install([s for s in steps if s.action != "keep"])
        return 0

    # Hooks for the Poetry front door, which installs into the project's virtualenv.

    def target_python(self) -> str:
        """The interpreter pip installs into: the one running pipper."""
        import sys

        return sys.executable

    def installed_search_path(self) -> list[str] | None:
        """Where installed distributions are looked up (None: this interpreter's sys.path)."""
        return None

    def after_install(self, steps: list) -> None:  # type: ignore[type-arg]
        """Called after a successful install."""

    def _show_plan(self, steps: list) -> None:  # type: ignore[type-arg]
        if self.option("json"):
            self.emit_json([
                {"name": s.name, "version": s.version, "action": s.action,
                 "installed": str(s.installed) if s.installed else None, "source": s.source}
                for s in steps
            ])
            return
        for s in steps:
            was = f" (installed {s.installed})" if s.installed else ""
            self.line(f"{s.action:8} {s.name} {s.version}{was}  from {s.source}")
