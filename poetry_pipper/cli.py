"""The standalone ``pipper`` command: the shared command classes in a cleo Application."""

from __future__ import annotations

import sys

from cleo.application import Application
from cleo.loaders.factory_command_loader import FactoryCommandLoader

from . import __version__
from .commands import COMMANDS, factory


def application() -> Application:
    app = Application("pipper", __version__)
    app.set_command_loader(FactoryCommandLoader({name: factory(name) for name in COMMANDS}))
    return app


def main() -> int:
    return application().run()


if __name__ == "__main__":
    sys.exit(main())
