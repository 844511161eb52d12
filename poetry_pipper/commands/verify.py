from __future__ import annotations

from cleo.helpers import option

from ..errors import PipperError
from .base import PipperCommand


class VerifyCommand(PipperCommand):
    name = "verify"
    description = "Check every index entry against the stored files and records; report drift (read-only)."
    uses_repository = True
    json_output = "Print the report as JSON."
    options = [
        option("no-hash", None, "Check that files exist, but do not download them to check their sha256."),
    ]
    help = """Downloads every file (wheels and sdists) and checks its sha256 and size against its
record, checks each PEP 658 metadata sidecar, compares the package indexes, the private-dependency
hints, the root list and the PEP 503 pages with the records, and lists files nothing references
and objects that are not part of the layout. Prints one line per problem ("KIND: KEY: what is wrong") and exits
1 if there is any. It changes nothing; `pipper reindex` repairs index and page drift.

An orphan file can be a publish in progress: run verify again when no one is publishing.
A prune that was interrupted leaves a marker (pending/<name>.json) under which the states
between its steps are not drift: verify lists it as an unfinished prune, and running the
prune again finishes it.

  pipper verify -b s3://my-bucket/pypi
  pipper verify -b ./local-repo --json
  pipper verify -b s3://my-bucket/pypi --no-hash     # existence only, no downloads"""

    def perform(self) -> int:
        from ..display import safe
        from ..verify import counted, verify

        repo = self.repository()
        report = verify(repo, hash_files=not self.option("no-hash"))
        summary = f"{counted(report)}, {report.files_hashed} file{'s' * (report.files_hashed != 1)} hashed"
        pending = [safe(f"unfinished prune: {changes.describe()}; run `pipper prune` again to finish it")
                   for changes in report.pending]
        self.emit(report.to_json(), [safe(p.line()) for p in report.problems] + pending
                  + ([safe(f"{repo.location}: {summary}; no drift")] if report.ok else []))
        if report.ok:
            return 0
        count = len(report.problems)
        raise PipperError(
            f"{count} problem{'s' if count != 1 else ''} in {repo.location} ({summary}): {report.advice()}"
        )
