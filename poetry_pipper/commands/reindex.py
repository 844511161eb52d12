from __future__ import annotations

from cleo.helpers import option

from .base import PipperCommand, repository_options


class ReindexCommand(PipperCommand):
    name = "reindex"
    description = "Rebuild every package index, the root list and the PEP 503 pages from the release records."
    options = [*repository_options(), option("json", None, "Print what was rewritten as JSON.")]
    help = """Release records are the truth; reindex derives everything else from them again:
versions whose record exists but were never indexed (a publisher stopped half-way, or a server
ignored a conditional write) are added, index entries without a record are removed, yank
states are copied from the records, unreadable indexes are rebuilt and stale pages rewritten.

It is safe while others publish (every write is a compare-and-swap computed from a fresh read)
and idempotent: what is already right is not written, so a second run changes nothing. It never
deletes files. A record whose wheel is missing is reported and left out of the index.

  pipper reindex -b s3://my-bucket/pypi
  pipper verify -b s3://my-bucket/pypi || pipper reindex -b s3://my-bucket/pypi"""

    def perform(self) -> int:
        from ..lifecycle import counted, reindex

        repo = self.repository()
        report = reindex(repo)
        if self.option("json"):
            self.emit_json(report.to_json())
            return 0
        for problem in report.skipped:
            self.line(f"skipped {problem.line()}")
        for key in report.written:
            self.line(f"rewrote {key}")
        what = counted(report)
        if report.written:
            self.line(f"Reindexed {repo.location}: {what}; {len(report.written)} objects rewritten")
        else:
            self.line(f"{repo.location}: {what}; everything was already up to date")
        return 0
