"""``poetry export`` and private sources: refuse the plain export, offer ``poetry pipper export``.

poetry-plugin-export writes index lines for HTTP sources only, so the packages of an s3:// or
file:// source would come out as plain pins that pip looks for on a public index. When the lock
holds such packages, ``poetry export`` stops with one line naming the source and
``poetry pipper export``, which writes each of them as a pre-authorized direct reference
(:mod:`poetry_pipper.export`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cleo.helpers import option

from ..commands.base import PipperCommand
from .settings import SCHEMES, pipper_sources

if TYPE_CHECKING:
    from poetry.poetry import Poetry

    from ..repository import Repository


class ExportRefused(RuntimeError):
    """One line: which source, and what to run instead."""


def refuse_plain_export(event: Any, _event_name: str, _dispatcher: Any) -> None:
    """A cleo COMMAND listener: ``poetry export`` of a lock holding packages of a pipper source stops."""
    command = getattr(event, "command", None)
    if getattr(command, "name", None) != "export":
        return
    try:
        poetry = command.poetry  # type: ignore[union-attr]
        lock_data = poetry.locker.lock_data if poetry.locker.is_locked() else {}
    except Exception:  # no project, no lock: poetry export says so itself
        return
    sources = _pipper_sources(poetry)
    for package in lock_data.get("package", []) or []:
        url = str((package.get("source") or {}).get("url", "")).rstrip("/")
        if url.startswith(SCHEMES):
            name = sources.get(url, url)
            raise ExportRefused(
                f"poetry export would write {package.get('name')} and the other packages of source '{name}' ({url})"
                " as plain pins, which pip looks for on a public index: run `poetry pipper export -o requirements.txt`"
                " instead (each private package as a pre-authorized direct reference)"
            )


def _pipper_sources(poetry: Poetry) -> dict[str, str]:
    """url -> name of the project's s3:// and file:// sources."""
    return {url: name for name, url in pipper_sources(poetry.local_config.get("source")).items()}


class ExportCommand(PipperCommand):
    name = "pipper export"
    description = "Export poetry.lock as a requirements file in which every private package is a pre-authorized direct reference."
    chooses_files = True
    options = [
        option("output", "o", "Write to FILE (mode 0600) instead of printing.", flag=False),
        option("expires", "e", "How long the links work: 30s, 12mins, 3hr, '2 days'... at most 7 days.", flag=False,
               default="1h"),
        option("with", None, "Also export this dependency group (repeat for several).", flag=False, multiple=True),
    ]
    help = """`poetry export` writes the packages of an s3:// or file:// source as plain pins, so pip
would look for them on a public index; with such packages in the lock it refuses and names
this command. Here every package locked from a pipper source is written as

  name @ <presigned URL>#sha256=... ; <markers> --hash=sha256:...

(the file chosen for this machine, or --platform/--python-version...), which pip and uv take
from that URL only, and every other package as name==version with the --hash of each locked
file (hash-checking mode, as `poetry export` writes it). The links expire (-e, at most 7 days):
never commit the file."""

    def perform(self) -> int:
        from .. import authorize as links
        from ..errors import PipperError
        from ..export import export_requirements, read_poetry_lock

        expires_in = links.parse_duration(self.option("expires"))
        try:
            poetry: Poetry = self.application.poetry  # type: ignore[union-attr]
        except RuntimeError as exc:
            raise PipperError(f"cannot load the Poetry project: {' '.join(str(exc).split())}") from None
        lock = poetry.pyproject_path.parent / "poetry.lock"
        if not lock.is_file():
            raise PipperError(f"no poetry.lock in {lock.parent}: run `poetry lock` first")
        groups = ["main", *(self.option("with") or [])]
        packages = read_poetry_lock(lock.read_text(encoding="utf-8"), str(lock), groups)
        sources = _pipper_sources(poetry)
        opened: dict[str, Repository] = {}

        def open_source(url: str) -> Repository | None:
            from .settings import open_source as open_it

            key = url.rstrip("/")
            if key not in sources:
                return None
            if key not in opened:
                opened[key] = open_it(sources[key], key, poetry.config)
            return opened[key]

        created = links.utcnow()
        header = [
            f"Exported from {lock.name} by `poetry pipper export` at {links.format_time(created)}, groups: {', '.join(groups)}.",
            "Private packages are direct references to presigned links: pip and uv take them from those URLs only.",
            f"The links expire within {links.describe_duration(expires_in)}; they are secrets until then: never commit this file.",
        ]
        text, private = export_requirements(packages, open_source, expires_in, self.file_target(), header=header,
                                            index_lines=_index_lines(poetry))
        output = self.option("output")
        if not output:
            self.io.write(text)
            return 0
        links.write_atomic(Path(output), text)
        self.line(f"Wrote {output}: {len(packages)} packages, {private} of them private (links expire in"
                  f" {links.describe_duration(expires_in)})")
        return 0


def _index_lines(poetry: Poetry) -> list[str]:
    """The project's HTTP sources as pip index options (what `poetry export` writes for them)."""
    http = [s for s in poetry.local_config.get("source", [])
            if str(s.get("url", "")).startswith(("http://", "https://")) and s.get("priority") != "explicit"]
    primary = [s for s in http if s.get("priority", "primary") == "primary"]
    lines = []
    for number, source in enumerate(primary + [s for s in http if s not in primary]):
        lines.append(f"{'--index-url' if number == 0 and primary else '--extra-index-url'} {source['url']}")
    return lines
