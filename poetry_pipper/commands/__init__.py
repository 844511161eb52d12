"""The command classes, shared by the ``pipper`` CLI and the ``poetry pipper`` commands.

Each command lives in its own module and is imported only when it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import PipperCommand

#: command name -> "module:Class"
COMMANDS: dict[str, str] = {
    "bundle": "bundle:BundleCommand",
    "publish": "publish:PublishCommand",
    "download": "download:DownloadCommand",
    "info": "info:InfoCommand",
    "install": "install:InstallCommand",
    "repository": "repository:RepositoryCommand",
    "authorize": "authorize:AuthorizeCommand",
    "yank": "yank:YankCommand",
    "unyank": "yank:UnyankCommand",
    "delete": "delete:DeleteCommand",
    "prune": "prune:PruneCommand",
    "verify": "verify:VerifyCommand",
    "reindex": "reindex:ReindexCommand",
    "migrate": "migrate:MigrateCommand",
}


def load(name: str) -> type[PipperCommand]:
    module, _, cls = COMMANDS[name].partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)  # type: ignore[no-any-return]


def factory(name: str) -> Callable[[], PipperCommand]:
    return lambda: load(name)()
