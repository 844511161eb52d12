from __future__ import annotations

from typing import TYPE_CHECKING

from cleo.helpers import option

from ..errors import PipperError
from .base import PipperCommand

if TYPE_CHECKING:
    from ..migrate import Outcome


class MigrateCommand(PipperCommand):
    name = "migrate"
    description = "Convert every pipper 0.x bundle under the repository root into the current format."
    uses_repository = True
    json_output = "Print the counts and every bundle's outcome as JSON."
    options = [
        option("dry-run", None, "Only list the 0.x bundles and whether the new layout has their version; download nothing."),
    ]
    help = """pipper 0.x stored <root>/<name>/<v1-2-3>.pipper objects (root_prefix 'pipper' by default,
which is also what a bare bucket name means here). For each of them, migrate downloads the
bundle, computes the wheel's sha256 (0.x recorded none) and publishes the wheel with the
normal protocol: wheel, metadata, release record, index and simple pages. The 0.x objects are
left in place, so pipper 0.x keeps working during the switch.

Re-running is safe and resumes an interrupted run: a version already published with the same
wheel is "already present". A bundle that fails is reported and the others still migrate; the
exit code is 1 if any failed.

  pipper migrate -b my-bucket --dry-run
  pipper migrate -b s3://my-bucket/custom-root-prefix --json"""

    def perform(self) -> int:
        from ..migrate import migrate, summarize

        repo = self.repository()
        dry_run = self.option("dry-run")

        def report(outcome: Outcome) -> None:  # as it happens: a migration can take long
            if not self.as_json():
                self.line(_describe(outcome))

        outcomes = migrate(repo, dry_run=dry_run, report=report)
        counts = summarize(outcomes)
        if not outcomes:
            summary = f"no pipper 0.x bundles under {repo.location} (expected <root>/<name>/v1-2-3.pipper)"
        else:
            done = f"{counts['would_migrate']} to migrate" if dry_run else f"{counts['migrated']} migrated"
            summary = (f"{counts['found']} pipper 0.x bundles found in {repo.location}: {done},"
                       f" {counts['already_present']} already present, {counts['failed']} failed")
        self.emit({"repository": str(repo.location), "dry_run": dry_run, **counts,
                   "bundles": [o.to_json() for o in outcomes]}, [summary])
        if counts["failed"]:
            raise PipperError(
                f"{counts['failed']} of {counts['found']} pipper 0.x bundles could not be migrated (listed above);"
                " fix or remove them and run `pipper migrate` again: it resumes"
            )
        return 0


def _describe(outcome: Outcome) -> str:
    from ..display import safe

    what = safe(f"{outcome.name} {outcome.version}".strip())
    if outcome.status == "failed":
        return f"<error>failed</error>           {what or safe(outcome.key)}: {safe(outcome.detail)}"
    return f"{outcome.status:<16} {what}  ({safe(outcome.key)})"
