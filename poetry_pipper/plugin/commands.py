"""``poetry pipper <action>``: the shared command classes, registered under Poetry."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poetry.console.application import Application


def register(application: Application) -> None:
    from ..commands import COMMANDS, factory

    for name in COMMANDS:
        application.command_loader.register_factory(f"pipper {name}", _named(name, factory(name)))


def _named(name: str, make):  # type: ignore[no-untyped-def]
    def create():  # type: ignore[no-untyped-def]
        command = make()
        command.name = f"pipper {name}"
        return command

    return create
