"""Every place the plugin relies on Poetry or cleo beyond their public API, and nowhere else.

Each reach names the versions it was checked against. ``tests/test_poetry_compat.py`` runs
:func:`self_check` inside every Poetry the matrix covers (scripts/poetry-matrix), so a Poetry
release that moves one of them fails there first, with the reach named.

Checked against: Poetry 2.0.1, 2.1.4, 2.2.1, 2.3.4, 2.4.3, 2.5.1 (cleo 2.1.0 in all of them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from poetry.repositories.repository import Repository

if TYPE_CHECKING:
    from cleo.io.inputs.input import Input
    from packaging.utils import NormalizedName
    from poetry.core.constraints.version import VersionConstraint
    from poetry.core.packages.package import Package
    from requests import Session

#: Poetry versions the reaches below were checked against (tests/test_poetry_compat.py checks each).
CHECKED = ("2.0.1", "2.1.4", "2.2.1", "2.3.4", "2.4.3", "2.5.1")


class PoetryRepository(Repository):
    """Poetry's repository base class, with its one overridable hook under a public name.

    Reach: ``Repository.find_packages(dependency)`` calls ``self._find_packages(name, constraint)``
    and then applies PEP 592 (yanked) and pre-release rules; every Poetry repository class
    overrides that hook (Poetry 2.0.1-2.5.1). Overriding ``find_packages`` instead would copy
    those rules.
    """

    def _find_packages(self, name: NormalizedName, constraint: VersionConstraint) -> list[Package]:
        return self.candidates(name, constraint)

    def candidates(self, name: NormalizedName, constraint: VersionConstraint) -> list[Package]:
        raise NotImplementedError


def argv_tokens(input: Input) -> list[str] | None:
    """The raw words of a command line input, or None when it is not one.

    Reach: cleo's ``ArgvInput._tokens`` (cleo 2.1.0, in every Poetry 2.x). cleo has no public
    accessor; Poetry reads the same attribute (console/application.py ``_sort_global_options``).
    The changed words go back through public API only (``IO.set_input(ArgvInput(...))``, as cleo
    itself does for namespaced commands).
    """
    from cleo.io.inputs.argv_input import ArgvInput

    if not isinstance(input, ArgvInput):
        return None
    tokens = input._tokens
    return list(tokens) if isinstance(tokens, list) else None


def mount_on_sessions(mount: Callable[[Session], None]) -> None:
    """Call ``mount(session)`` on every requests session Poetry's downloads use.

    Reach: ``Authenticator.create_session`` is public, but that Poetry's installer downloads
    through sessions it makes (executor.py ``Authenticator(...)``, then ``Downloader``) is not a
    promise (Poetry 2.0.1-2.5.1). Wrapping it is the only way to add a transport adapter.
    """
    from poetry.utils.authenticator import Authenticator

    original = Authenticator.create_session

    def create_session(self: Authenticator) -> Session:
        session = original(self)
        mount(session)
        return session

    Authenticator.create_session = create_session  # type: ignore[method-assign]


def project_directory(application: Any) -> Path:
    """The directory Poetry looks for the project in (``--project``/``--directory`` applied).

    Reach: ``Application.project_directory`` (Poetry 2.2+) or ``Application._project_directory``
    (2.0-2.1), what ``Application.poetry`` passes to ``Factory.create_poetry``.
    """
    found = getattr(application, "project_directory", None)
    if found is None:
        found = application._project_directory
    return Path(found)


def self_check() -> list[str]:
    """Each reach exercised on the running Poetry: the list of those that no longer work."""
    from cleo.io.inputs.argv_input import ArgvInput
    from poetry.core.constraints.version import Version, parse_constraint
    from poetry.core.packages.dependency import Dependency
    from poetry.core.packages.package import Package
    from poetry.utils.authenticator import Authenticator

    broken = []
    if argv_tokens(ArgvInput(["poetry", "pipper install", "-c", "KEY", "SECRET"])) != [
        "pipper install", "-c", "KEY", "SECRET"
    ]:
        broken.append("argv_tokens: cleo ArgvInput._tokens")

    class Probe(PoetryRepository):
        def candidates(self, name: NormalizedName, constraint: VersionConstraint) -> list[Package]:
            return [Package(name, v) for v in ("1.0", "2.0", "3.0a1") if constraint.allows(Version.parse(v))]

    found = Probe("probe").find_packages(Dependency("probe", parse_constraint(">=1.5")))
    if [str(p.version) for p in found] != ["2.0"]:
        broken.append(f"PoetryRepository: Repository.find_packages -> _find_packages gave {found}")

    from poetry.console.application import Application

    try:
        if project_directory(Application()) != Path.cwd():
            broken.append("project_directory: Application.project_directory/_project_directory")
    except Exception as exc:  # any failure is the finding
        broken.append(f"project_directory: {exc}")

    mounted: list[Any] = []
    before = Authenticator.create_session
    try:
        mount_on_sessions(mounted.append)
        session = Authenticator().create_session()
        if mounted != [session]:
            broken.append("mount_on_sessions: Authenticator.create_session")
    finally:
        Authenticator.create_session = before  # type: ignore[method-assign]
    return broken
