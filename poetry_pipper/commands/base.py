"""What every pipper command shares: declared options, error handling, --json or text output, progress.

A command declares what it needs as class attributes -- ``uses_repository`` (the -b/-r/-p/-c/
--endpoint-url/--region options) and ``json_output`` (--json) -- and lists only its own options.
Its :meth:`~PipperCommand.perform` parses, calls one domain function, and prints with
:meth:`~PipperCommand.emit`.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from cleo.commands.command import Command
from cleo.helpers import option
from cleo.io.inputs.option import Option
from cleo.io.outputs.output import Type as OutputType
from cleo.io.outputs.output import Verbosity

from ..display import printable, safe, sanitize_line
from ..errors import PipperError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cleo.ui.progress_bar import ProgressBar

    from ..access import Access, Options
    from ..config import Config
    from ..credentials import Credentials
    from ..location import Location
    from ..repository import Repository
    from ..targets import Target

PROGRESS_THRESHOLD = 1024 * 1024


def repository_options() -> list[Option]:
    return [
        option("bucket", "b", "Repository: a bucket name (prefix 'pipper'), s3://bucket[/prefix], file:///dir or a directory path"
               " (default: -r's, else the default repository's).", flag=False),
        option("repository", "r", "A named repository (`pipper repository add`): its location and stored credentials.", flag=False),
        option("endpoint-url", None, "S3 endpoint for S3-compatible servers (default: the repository's, else $AWS_ENDPOINT_URL).", flag=False),
        option("region", None, "AWS region of the bucket (default: the repository's, else the profile's or $AWS_REGION).", flag=False),
        option("profile", "p", "AWS profile to use (see `aws configure list-profiles`).", flag=False),
        *credentials_options(),
    ]


def target_options() -> list[Option]:
    """pip download's options for preparing files for another machine, and pip's --only-binary."""
    return [
        option("python-version", None, "Choose files for this Python version (3.12, 312, 3), as pip download does"
               " (default: this interpreter's).", flag=False),
        option("platform", None, "Choose files for this platform tag (macosx_11_0_arm64, manylinux_2_28_x86_64,"
               " win_amd64...); repeat for several. Default: this machine's.", flag=False, multiple=True),
        option("implementation", None, "Choose files for this implementation: cp, pp, py (any).", flag=False),
        option("abi", None, "Choose files for this ABI tag (cp312, abi3, none); repeat for several.", flag=False,
               multiple=True),
        option("only-binary", None, "Never choose an sdist of a private package (pip --only-binary :all:)."),
    ]


def credentials_options() -> list[Option]:
    return [
        option("credentials", "c", "KEY SECRET [TOKEN] (or KEY:SECRET[:TOKEN]); a TOKEN of 0 means none.",
               flag=False, multiple=True),
    ]


JSON_OPTION = "Print the result as JSON (for scripts)."


class PipperCommand(Command):
    """Runs :meth:`run` and turns every failure into one line on stderr and exit 1."""

    #: Declares the repository options (added before the command's own options).
    uses_repository: ClassVar[bool] = False
    #: Declares --json (added after the command's own options); a string is its help text.
    json_output: ClassVar[bool | str] = False
    #: Declares the options that choose files for another machine (--python-version, --platform...).
    chooses_files: ClassVar[bool] = False
    _bars: list[_Progress] | None = None
    _resolved: Access | None = None
    #: Words after ``-c KEY SECRET`` that may be a short session token (credentials.possible_tokens).
    possible_tokens: list[str] = []
    _config: Config | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = ("options", "uses_repository", "json_output", "chooses_files")
        if not any(name in cls.__dict__ for name in declared):
            return  # inherits a parent's options, already declared
        own = list(cls.__dict__.get("options", [])) if "options" in cls.__dict__ else []
        own += target_options() if cls.chooses_files else []
        before = repository_options() if cls.uses_repository else []
        after = [option("json", None, cls.json_output if isinstance(cls.json_output, str) else JSON_OPTION)] \
            if cls.json_output else []
        cls.options = [*before, *own, *after]

    def handle(self) -> int:
        try:
            return self.perform() or 0
        except PipperError as exc:
            return self.fail(str(exc), exc.exit_code, exc)
        except KeyboardInterrupt:
            return self.fail("interrupted; nothing partial was left visible", 130, None)
        except Exception as exc:  # a bug: still one line, the traceback with -v
            return self.fail(
                f"unexpected {type(exc).__name__}: {exc} (run with -v for the traceback and please report it)",
                1,
                exc,
            )

    def perform(self) -> int | None:  # pragma: no cover - every command overrides it
        raise NotImplementedError

    def fail(self, message: str, code: int, exc: BaseException | None) -> int:
        for bar in self._bars or ():
            bar.abandon()  # end a progress line the failure interrupted, so the error has its own line
        from ..credentials import redact
        from ..errors import CredentialsError

        table = self.secret_values()
        resolved = self._resolved
        if isinstance(exc, CredentialsError) and resolved is not None and not resolved.location.is_local \
                and resolved.credentials.source not in message:
            message = f"{message} [identity: {resolved.credentials.describe()}]"
        if exc is not None and self.io.is_verbose():
            self.io.write_error(printable(redact(traceback.format_exc(), table), keep_newlines=True), type=OutputType.RAW)
        message = redact(" ".join(message.split()), table)
        # The message may quote the bucket, a file or the command line: all of it is text, never markup.
        self.line_error(f"<error>error: {safe(message)}</error>")
        return code

    def secret_values(self) -> dict[str, str]:
        """Every secret this run could know of, for :func:`~poetry_pipper.credentials.redact`."""
        from ..credentials import redactions

        raw = self.raw_credentials()
        creds = [self._resolved.credentials] if self._resolved else []
        secrets = list(self._config.secrets) if self._config else []
        key_ids = [r.access_key_id for r in self._config.repositories.values()] if self._config else []
        table = redactions(credentials=creds, key_ids=[*key_ids, *raw[:1]], secrets=[*secrets, *raw[1:]])
        table.update({word: "****" for word in self.possible_tokens if word not in table and len(word) >= 8})
        return table

    def raw_credentials(self) -> list[str]:
        """The ``-c`` values as given ([KEY, SECRET, TOKEN...]), for redaction only."""
        from ..credentials import split_keys

        if not self.definition.has_option("credentials"):
            return []
        try:
            values = list(self.option("credentials") or [])
        except Exception:
            return []
        return [v for v in split_keys(values) if v]

    # -- repository ----------------------------------------------------------------------

    def access_options(self) -> Options:
        from ..access import Options

        return Options(
            bucket=self.option("bucket"),
            repository=self.option("repository"),
            profile=self.option("profile"),
            keys=self.option("credentials") or None,
            endpoint_url=self.option("endpoint-url"),
            region=self.option("region"),
        )

    def resolved(self) -> Access:
        """-b/-r/-p/-c/--endpoint-url/--region resolved once (docs/credentials.md has the order)."""
        if self._resolved is None:
            from ..access import resolve_access

            self._resolved = resolve_access(self.access_options(), config=self.user_config)
        return self._resolved

    def file_target(self) -> Target:
        """The environment files are chosen for: --python-version/--platform/--implementation/--abi, else here."""
        from ..targets import Target

        return Target.custom(self.option("python-version"), self.option("platform") or (),
                             self.option("implementation"), self.option("abi") or ())

    def user_config(self) -> Config:
        """The user's config file, read once and only when something needs it."""
        if self._config is None:
            from ..config import load

            self._config = load()
        return self._config

    def has_repository(self) -> bool:
        """Whether -b, -r or a default repository names a repository (without reading any bucket)."""
        if self.option("bucket") or self.option("repository"):
            return True
        return self.user_config().default is not None

    def location(self) -> Location:
        return self.resolved().location

    def credentials(self) -> Credentials:
        return self.resolved().credentials

    def repository(self) -> Repository:
        from ..repository import open_repository

        resolved = self.resolved()
        location = resolved.location
        if self.io.is_verbose():
            self.line_error(f"<comment>repository: {location} from {resolved.location_source}</comment>")
            if not location.is_local:
                self.line_error(f"<comment>credentials: {resolved.credentials.describe()}</comment>")
        return open_repository(location, resolved.credentials)

    def requested(self, *, default_file: bool = False) -> list[str]:
        """Package arguments plus the ``-i`` file's list (``./pipper.json`` when asked and present)."""
        from pathlib import Path

        from ..specs import read_spec_file

        items = list(self.argument("packages") or [])
        spec_file = self.option("input") if self.definition.has_option("input") else None
        if spec_file:
            items += read_spec_file(spec_file)
        elif not items and default_file and Path("pipper.json").is_file():
            items += read_spec_file("pipper.json")
        if not items:
            raise PipperError("no packages given: pass NAME[:SPEC]... or -i pipper.json")
        return items

    # -- output --------------------------------------------------------------------------

    def emit(self, data: Any, text: Iterable[str] | None = None) -> None:
        """``data`` as JSON with --json; else the lines of ``text`` (pipper's tags allowed, see :meth:`line`)."""
        if self.definition.has_option("json") and self.option("json"):
            # JSON escapes every control character; written raw, so no "<" in a value is read as markup.
            self.io.write_line(json.dumps(data, indent=2, sort_keys=True), type=OutputType.RAW)
            return
        for line in text or ():
            self.line(line)

    # Every line a command prints goes through sanitize_line: control characters are shown as escapes
    # and only pipper's own tags (<info>, <comment>, <error>, properly nested) stay markup, so a string
    # from the bucket or the command line can neither crash cleo nor reach the terminal as an escape.
    # Values are best also wrapped in display.safe() where they are interpolated (shown fully literal).

    def line(self, text: str, style: str | None = None, verbosity: Verbosity = Verbosity.NORMAL) -> None:
        super().line(sanitize_line(text), style, verbosity)

    def line_error(self, text: str, style: str | None = None, verbosity: Verbosity = Verbosity.NORMAL) -> None:
        super().line_error(sanitize_line(text), style, verbosity)

    def write(self, text: str, style: str | None = None) -> None:
        super().write(sanitize_line(text), style)

    def as_json(self) -> bool:
        return bool(self.definition.has_option("json") and self.option("json"))

    def transfer_progress(self, total: int, label: str) -> _Progress | None:
        """A thread-safe progress callback for transfers over 1 MB (boto3 calls it from threads)."""
        if total <= PROGRESS_THRESHOLD or self.io.error_output.is_quiet():
            return None
        from cleo.ui.progress_bar import ProgressBar

        output = self.io.error_output
        bar = ProgressBar(output, max=total)
        bar.set_format(f" {sanitize_line(label).replace('%', '% ')} [%bar%] %percent:3s%% %elapsed:6s%")
        progress = _Progress(bar, lambda: output.write_line(""))
        self._bars = [*(self._bars or []), progress]
        return progress


class _Progress:
    """Shown from the first byte moved (a transfer refused before it starts shows no bar)."""

    def __init__(self, bar: ProgressBar, newline: Callable[[], None]) -> None:
        self._bar = bar
        self._newline = newline
        self._lock = threading.Lock()
        self._state = "new"  # -> "running" -> "done"

    def __call__(self, amount: int) -> None:
        with self._lock:
            if self._state == "new":
                self._bar.start()
                self._state = "running"
            if self._state == "running":
                self._bar.advance(amount)

    def finish(self) -> None:
        with self._lock:
            if self._state == "new":
                self._bar.start()
            if self._state != "done":
                self._bar.finish()
                self._newline()
            self._state = "done"

    def abandon(self) -> None:
        with self._lock:
            if self._state == "running":
                self._newline()
            self._state = "done"
