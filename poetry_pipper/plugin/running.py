"""Which Poetry command is running: the sources read early only for a command that resolves.

A listener of cleo's COMMAND event (registered by the application plugin with a priority above
Poetry's own listeners, which create the Poetry object and so the sources) notes the command's
name before anything else happens and, for a command that resolves, starts the first GETs
(early.py). Nothing heavy here: it runs on every Poetry command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cleo.application import Application
    from cleo.events.event import Event
    from cleo.events.event_dispatcher import EventDispatcher

#: Poetry commands that resolve against the sources (``install`` only without a lock file).
RESOLVING = frozenset({"lock", "update", "add", "remove"})
_running: list[str] = []


def listen(application: Application) -> None:
    if application.event_dispatcher is not None:
        from cleo.events.console_events import COMMAND

        application.event_dispatcher.add_listener(COMMAND, _note, priority=10)  # Poetry's own are at 0


def _note(event: Event, event_name: str, dispatcher: EventDispatcher) -> None:
    command = getattr(event, "command", None)
    name = str(getattr(command, "name", "") or "")
    _running[:] = [name]
    application = getattr(command, "application", None)
    if (name not in RESOLVING and name != "install") or application is None:
        return
    from poetry.core.factory import Factory

    from .compat import project_directory

    try:
        pyproject = Factory.locate(project_directory(application))
    except Exception:  # no project: Poetry says so itself
        return
    if resolves(name, pyproject.parent / "poetry.lock"):
        from .early import start

        start(pyproject)


def running_command() -> str:
    """The name of the Poetry command being run ("" when not known: Poetry used as a library)."""
    return _running[0] if _running else ""


def resolves(command: str, lock: Path) -> bool:
    """Whether the command resolves against the sources: always, or ``install`` without a lock file."""
    return command in RESOLVING or (command == "install" and not lock.exists())
