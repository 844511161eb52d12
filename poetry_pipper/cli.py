"""The standalone ``pipper`` command: the shared command classes in a cleo Application."""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import TextIO

from cleo.application import Application
from cleo.io.inputs.argv_input import ArgvInput
from cleo.io.io import IO
from cleo.io.outputs.output import Type as OutputType
from cleo.io.outputs.stream_output import StreamOutput
from cleo.loaders.factory_command_loader import FactoryCommandLoader

from . import __version__
from .commands import COMMANDS, factory, load


class PipperApplication(Application):
    """cleo's Application, whose own errors (an unknown command or option, too many arguments) are one
    ``error:`` line, and never let the command line reach the terminal as markup or escape sequences."""

    def render_error(self, error: Exception, io: IO) -> None:
        from cleo.exceptions import CleoError

        from .display import escape_markup, printable

        if isinstance(error, CleoError) or not io.is_verbose():
            # One line, as every pipper error: "error: The option "--x" does not exist".
            io.write_error_line(f"<error>error: {escape_markup(printable(' '.join(str(error).split())))}</error>")
            return
        text = "".join(traceback.format_exception(error))
        io.write_error_line(printable(text, keep_newlines=True), type=OutputType.RAW)


def application() -> Application:
    app = PipperApplication("pipper", __version__)
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


#: What a word right after ``-c KEY SECRET`` becomes in error output (it may be a short session token).
HIDDEN_WORD = "****(hidden: it follows -c KEY SECRET; write -c KEY:SECRET:TOKEN or put -c last)"


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

        super()._write(_terminal_safe(redact(message, self._table)), new_line)


#: What cleo itself writes to a terminal: colours (SGR) and the cursor moves of a progress bar.
_CLEO_SEQUENCE = re.compile(r"\x1b\[[0-9;]*[mGKA]|\r|\n")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _terminal_safe(text: str) -> str:
    """A last line of defence for stderr: any control character but cleo's own sequences is shown escaped."""
    from .display import printable

    if not _ANY_CONTROL.search(_CLEO_SEQUENCE.sub("", text)):
        return text
    parts = []
    position = 0
    for match in _CLEO_SEQUENCE.finditer(text):
        parts += [printable(text[position:match.start()]), match.group()]
        position = match.end()
    parts.append(printable(text[position:]))
    return "".join(parts)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from .credentials import MIN_REDACTED, expand_credentials_args, given_keys, possible_tokens, redactions

    raw = sys.argv[1:] if argv is None else argv
    args = prepare_args(raw)
    # Collected as if every command took -c, so that even a misplaced -c is redacted from cleo's errors.
    given = given_keys(expand_credentials_args(args))
    table = redactions(key_ids=given[:1], secrets=given[1:])
    table.update({word: HIDDEN_WORD for word in possible_tokens(raw) if word not in table and len(word) >= MIN_REDACTED})
    output = StreamOutput(stdout) if stdout is not None else None
    return application().run(ArgvInput(["pipper", *args]), output, RedactingOutput(stderr or sys.stderr, table))


if __name__ == "__main__":
    sys.exit(main())
