"""Poetry plugin glue: entry points only; the work is in :mod:`.source` and the core.

Poetry loads this module on every command, so it imports nothing heavy: boto3 and the
core are imported when an s3:// or file:// source is actually used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from poetry.plugins.application_plugin import ApplicationPlugin
from poetry.plugins.plugin import Plugin

if TYPE_CHECKING:
    from cleo.io.io import IO
    from poetry.console.application import Application
    from poetry.poetry import Poetry


class PipperPlugin(Plugin):
    """Turns ``[[tool.poetry.source]]`` entries with s3:// or file:// URLs into pipper sources."""

    def activate(self, poetry: Poetry, io: IO) -> None:
        from .source import install_sources

        install_sources(poetry, io)


class PipperApplicationPlugin(ApplicationPlugin):
    """Adds ``poetry pipper <action>``: the same command classes as the ``pipper`` CLI."""

    def activate(self, application: Application) -> None:
        from .commands import register

        register(application)
