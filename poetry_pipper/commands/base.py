"""What every pipper command shares: repository options, error handling, progress output."""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from cleo.commands.command import Command
from cleo.helpers import option
from cleo.io.inputs.option import Option

from ..errors import PipperError

if TYPE_CHECKING:
    from cleo.ui.progress_bar import ProgressBar

    from ..credentials import Credentials
    from ..location import Location
    from ..repository import Repository

PROGRESS_THRESHOLD = 1024 * 1024


def repository_options() -> list[Option]:
    return [
        option("bucket", "b", "Repository: a bucket name (prefix 'pipper'), s3://bucket[/prefix], file:///dir or a directory path.", flag=False),
        option("endpoint-url", None, "S3 endpoint for S3-compatible servers (default: $AWS_ENDPOINT_URL).", flag=False),
        option("region", None, "AWS region of the bucket (default: the profile's or $AWS_REGION).", flag=False),
        option("profile", "p", "AWS profile to use (see `aws configure list-profiles`).", flag=False),
    ]


class PipperCommand(Command):
    """Runs :meth:`run` and turns every failure into one line on stderr and exit 1."""

    uses_repository: ClassVar[bool] = False

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
        if exc is not None and self.io.is_verbose():
            self.io.write_error(traceback.format_exc())
        self.line_error(f"<error>error: {' '.join(message.split())}</error>")
        return code

    # -- repository ----------------------------------------------------------------------

    def location(self) -> Location:
        from ..location import parse_location

        bucket = self.option("bucket")
        if not bucket:
            raise PipperError("no repository given: pass -b s3://bucket/prefix (or a bucket name, or a directory)")
        return parse_location(bucket, endpoint_url=self.option("endpoint-url"), region=self.option("region"))

    def credentials(self) -> Credentials:
        from ..credentials import Credentials, from_environment

        profile = self.option("profile")
        if profile:
            return Credentials(profile=profile, source="-p/--profile")
        return from_environment()

    def repository(self) -> Repository:
        from ..repository import Repository
        from ..storage import open_storage

        location = self.location()
        credentials = None if location.is_local else self.credentials()
        if credentials is not None and self.io.is_verbose():
            self.line_error(f"<comment>credentials: {credentials.describe()}</comment>")
        return Repository(open_storage(location, credentials))

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

    def emit_json(self, data: Any) -> None:
        self.line(json.dumps(data, indent=2, sort_keys=True))

    def transfer_progress(self, total: int, label: str) -> _Progress | None:
        """A thread-safe progress callback for transfers over 1 MB (boto3 calls it from threads)."""
        if total <= PROGRESS_THRESHOLD or self.io.error_output.is_quiet():
            return None
        from cleo.ui.progress_bar import ProgressBar

        output = self.io.error_output
        bar = ProgressBar(output, max=total)
        bar.set_format(f" {label} [%bar%] %percent:3s%% %elapsed:6s%")
        return _Progress(bar, lambda: output.write_line(""))


class _Progress:
    def __init__(self, bar: ProgressBar, newline: Callable[[], None]) -> None:
        self._bar = bar
        self._newline = newline
        self._lock = threading.Lock()
        bar.start()

    def __call__(self, amount: int) -> None:
        with self._lock:
            self._bar.advance(amount)

    def finish(self) -> None:
        with self._lock:
            self._bar.finish()
            self._newline()
