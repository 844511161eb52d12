"""The standalone ``pipper`` command: the shared command classes in a cleo Application."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from cleo.application import Application
from cleo.io.inputs.argv_input import ArgvInput
from cleo.io.outputs.stream_output import StreamOutput
from cleo.loaders.factory_command_loader import FactoryCommandLoader

from . import __version__
from .commands import COMMANDS, factory, load


def application() -> Application:
    app = Application("pipper", __version__)
    app.set_command_loader(FactoryCommandLoader({name: factory(name) for name in COMMANDS}))
    return app


def takes_credentials(command: str) -> bool:
    """Whether ``command`` (a name, or a prefix cleo would expand) has the ``-c/--credentials`` option."""
    names = [command] if command in COMMANDS else [n for n in COMMANDS if n.startswith(command)]
    if len(names) != 1:
        return False
    try:
        cls = load(names[0])
    except Exception:  # a broken command module reports itself when it runs
        return False
    return any(o.name == "credentials" for o in getattr(cls, "options", []))


def prepare_args(args: Sequence[str]) -> list[str]:
    """``pipper`` arguments with ``-c KEY SECRET [TOKEN]`` rewritten for cleo (see expand_credentials_args)."""
    from .credentials import expand_credentials_args

    command = next((a for a in args if not a.startswith("-")), None)
    if command is None or not takes_credentials(command):
        return list(args)
    return expand_credentials_args(args)


class RedactingOutput(StreamOutput):
    """A stream output that replaces known secrets before anything is written (a last line of defence).

    Used for stderr (errors, -v lines, tracebacks, cleo's own messages). stdout is left alone:
    commands never print secrets there, and `pipper authorize` must print presigned URLs, which
    carry the signer's key id (and session token) by design.
    """

    def __init__(self, stream: TextIO, table: Mapping[str, str]) -> None:
        super().__init__(stream)
        self._table = table

    def _write(self, message: str, new_line: bool = False) -> None:
        from .credentials import redact

        super()._write(redact(message, self._table), new_line)


def main(argv: Sequence[str] | None = None) -> int:
    from .credentials import expand_credentials_args, given_keys, redactions

    args = prepare_args(sys.argv[1:] if argv is None else argv)
    # Collected as if every command took -c, so that even a misplaced -c is redacted from cleo's errors.
    given = given_keys(expand_credentials_args(args))
    table = redactions(key_ids=given[:1], secrets=given[1:])
    return application().run(ArgvInput(["pipper", *args]), None, RedactingOutput(sys.stderr, table))


if __name__ == "__main__":
    sys.exit(main())
