"""``poetry pipper <action>``: the shared command classes, registered under Poetry.

Each command is the very class the ``pipper`` CLI runs, with :class:`PoetryFrontDoor` mixed in
to adapt it to the project: ``-r`` also accepts the name of an s3:// or file:// source from
pyproject.toml (and with no ``-r``/``-b`` a project's single such source is used), ``bundle``
and ``publish --build`` use Poetry's own builder and ``dist/``, and ``install`` targets the
project's virtualenv instead of Poetry's own environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from poetry.console.application import Application
    from poetry.poetry import Poetry

    from ..access import Access
    from ..bundle import BundleMeta
    from ..install import Destination



def register(application: Application) -> None:
    from ..commands import COMMANDS

    for name in COMMANDS:
        application.command_loader.register_factory(f"pipper {name}", _factory(name))
    application.command_loader.register_factory("pipper export", _export)


def _export() -> Any:
    """``poetry pipper export``: Poetry only (it reads the project's lock and sources)."""
    from .export import ExportCommand

    return ExportCommand()


def _factory(name: str) -> Any:
    def create() -> Any:
        from ..commands import load

        base = load(name)
        cls = type(f"Poetry{base.__name__}", (PoetryFrontDoor, base), {"name": f"pipper {name}"})
        return cls()

    return create


class PoetryFrontDoor:
    """Overrides of the shared commands' hooks for a Poetry project."""

    application: Any
    possible_tokens: list[str]

    if TYPE_CHECKING:  # provided by cleo's Command (a stub here would shadow it)

        def option(self, name: str) -> Any: ...

    def run(self, io: Any) -> int:
        """Accept ``-c KEY SECRET [TOKEN]`` as the ``pipper`` CLI does (cleo options take one value)."""
        from .compat import argv_tokens

        tokens = argv_tokens(io.input)
        if tokens is not None and any(t in ("-c", "--credentials") for t in tokens):
            from cleo.io.inputs.argv_input import ArgvInput

            from ..credentials import expand_credentials_args, possible_tokens

            # Poetry joins the command's words into one token ("pipper install"); rewrite what follows.
            start = next((i + 1 for i, t in enumerate(tokens) if t.startswith("pipper ")), 0)
            self.possible_tokens = possible_tokens(tokens[start:])
            rewritten = ArgvInput([io.input.script_name or "", *tokens[:start], *expand_credentials_args(tokens[start:])])
            rewritten.set_stream(io.input.stream)  # what cleo carries over when it rewrites an input
            rewritten.interactive(io.input.is_interactive())
            io.set_input(rewritten)
        return super().run(io)  # type: ignore[misc, no-any-return]

    @property
    def poetry(self) -> Poetry:
        from ..errors import PipperError

        try:
            return self.application.poetry  # type: ignore[no-any-return]
        except RuntimeError as exc:  # Poetry's own: no pyproject.toml, invalid configuration
            raise PipperError(f"cannot load the Poetry project: {' '.join(str(exc).split())}") from None

    @property
    def project_dir(self) -> Path:
        return self.poetry.pyproject_path.parent

    def pipper_sources(self) -> dict[str, str]:
        """s3:// and file:// sources of the project: name -> url."""
        from .settings import pipper_sources

        return pipper_sources(self.poetry.local_config.get("source"))

    # -- repository selection --------------------------------------------------------------

    def resolved(self) -> Access:
        if getattr(self, "_resolved", None) is None:
            self._resolved = self._resolve_for_project()
        return self._resolved  # type: ignore[return-value]

    def _resolve_for_project(self) -> Access:
        name = self.option("repository")
        sources = self.pipper_sources() if not self.option("bucket") else {}
        if name is None and not self.option("bucket") and len(sources) == 1:
            name = next(iter(sources))
        if name in sources:
            from dataclasses import replace

            from .settings import source_access

            # -c/-p (and the rest of pipper's order) apply with the source in the place of -b.
            options = replace(self.access_options(), repository=None)  # type: ignore[attr-defined]
            return source_access(name, sources[name], self.poetry.config, options)
        return super().resolved()  # type: ignore[misc, no-any-return]

    def has_repository(self) -> bool:
        return bool(self.pipper_sources()) or super().has_repository()  # type: ignore[misc, no-any-return]

    # -- bundle / publish ------------------------------------------------------------------

    def default_source(self) -> Path:
        return self.project_dir

    def default_bundle_dir(self) -> Path:
        return self.project_dir / "dist"

    def build_for_publish(self, out_dir: Path) -> list[Path]:
        from .build import build_sdist, bundle_project

        return [bundle_project(self.poetry, out_dir)[0], build_sdist(self.poetry, out_dir)]

    def build_bundle(self, source: Path | None, out_dir: Path) -> tuple[Path, BundleMeta]:
        if source is None or source.resolve() == self.project_dir.resolve():
            from .build import bundle_project

            return bundle_project(self.poetry, out_dir)
        return super().build_bundle(source, out_dir)  # type: ignore[misc, no-any-return]

    # -- install into the project's virtualenv ---------------------------------------------

    def _project_env(self) -> Any:
        env = getattr(self, "_env", None)
        if env is None:
            from poetry.utils.env import EnvManager

            io = getattr(self, "io")  # noqa: B009 - cleo Command.io
            env = self._env = EnvManager(self.poetry, io=io).create_venv()
        return env

    def early_python(self) -> str | None:
        return None  # the project's virtualenv is found (or made) only once the resolution succeeded

    def install_destination(self) -> Destination:
        from dataclasses import replace

        env = self._project_env()
        destination = super().install_destination()  # type: ignore[misc]
        return replace(destination, python=str(env.python), search_path=[str(p) for p in env.sys_path])  # type: ignore[no-any-return]

    def after_install(self, steps: list[Any]) -> None:
        if not steps:
            return
        line = getattr(self, "line")  # noqa: B009 - cleo Command.line
        line(f"Installed into {self._project_env().path} without changing pyproject.toml.")
        sources = self.pipper_sources()
        source = self.option("repository") if self.option("repository") in sources else next(iter(sources), "<source>")
        names = " ".join(s.name for s in steps)
        line(f"To record it as a dependency: poetry add {names} --source {source}")
