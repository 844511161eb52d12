"""Which Poetry command is running: the sources read early only for a command that resolves.

A listener of cleo's COMMAND event (registered by the application plugin with a priority above
Poetry's own listeners, which create the Poetry object and so the sources) notes the command's
name before anything else happens. Nothing heavy here: it runs on every Poetry command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cleo.application import Application
    from cleo.events.event import Event
    from cleo.events.event_dispatcher import EventDispatcher

_running: list[str] = []


def listen(application: Application) -> None:
    if application.event_dispatcher is not None:
        from cleo.events.console_events import COMMAND

        application.event_dispatcher.add_listener(COMMAND, _note, priority=10)  # Poetry's own are at 0


def _note(event: Event, event_name: str, dispatcher: EventDispatcher) -> None:
    command = getattr(event, "command", None)
    _running[:] = [str(getattr(command, "name", "") or "")]


def running_command() -> str:
    """The name of the Poetry command being run ("" when not known: Poetry used as a library)."""
    return _running[0] if _running else ""
