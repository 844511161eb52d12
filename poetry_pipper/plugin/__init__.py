"""Poetry plugin glue: entry points only; the work is in :mod:`.source` and the core.

Poetry loads this module on every command, so it imports nothing heavy: boto3 and the
core are imported when an s3:// or file:// source is actually used.

Supported: Poetry 2.x (:data:`SUPPORTED`). Under any other Poetry the plugin says so in one
line on stderr and does nothing else, so that Poetry itself keeps working (``poetry self
update`` included).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from poetry.plugins.application_plugin import ApplicationPlugin
from poetry.plugins.plugin import Plugin

if TYPE_CHECKING:
    from cleo.io.io import IO
    from poetry.console.application import Application
    from poetry.poetry import Poetry

#: The Poetry versions this plugin works with, as pyproject.toml's `poetry` extra states them.
SUPPORTED = ">=2.0,<3"
_refused: list[str] = []


def supported() -> bool:
    """Whether the running Poetry is one this plugin supports; if not, say so once (one line)."""
    from poetry.__version__ import __version__

    major = __version__.split(".", 1)[0]
    if major == "2":
        return True
    if not _refused:
        fix = "run `poetry self update`" if major.isdigit() and int(major) < 2 else "use Poetry 2"
        _refused.append(
            f"poetry-pipper needs Poetry {SUPPORTED}, this is Poetry {__version__}: the plugin is not loaded"
            f" (s3:// and file:// sources will not work); {fix}"
        )
        sys.stderr.write(_refused[0] + "\n")
    return False


class PipperPlugin(Plugin):
    """Turns ``[[tool.poetry.source]]`` entries with s3:// or file:// URLs into pipper sources."""

    def activate(self, poetry: Poetry, io: IO) -> None:
        if not supported():
            return
        from .source import install_sources

        install_sources(poetry, io)


class PipperApplicationPlugin(ApplicationPlugin):
    """Adds ``poetry pipper <action>``: the same command classes as the ``pipper`` CLI."""

    def activate(self, application: Application) -> None:
        if not supported():
            return
        from .commands import register

        register(application)
        dispatcher = application.event_dispatcher
        if dispatcher is not None:  # `poetry export` must not send private names to a public index
            from cleo.events.console_events import COMMAND

            from .export import refuse_plain_export

            dispatcher.add_listener(COMMAND, refuse_plain_export)
