from __future__ import annotations

from .base import PipperCommand


class ReindexCommand(PipperCommand):
    name = "reindex"
    description = "Rebuild every package index, the root list and the PEP 503 pages from the release records."
    uses_repository = True
    json_output = "Print what was rewritten as JSON."
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
        from ..display import safe
        from ..reindex import reindex
        from ..verify import counted

        repo = self.repository()
        report = reindex(repo)
        lines = [f"skipped {problem.line()}" for problem in report.skipped]
        lines += [f"rewrote {key}" for key in report.written]
        what = counted(report)
        if report.written:
            lines.append(f"Reindexed {repo.location}: {what}; {len(report.written)} objects rewritten")
        else:
            lines.append(f"{repo.location}: {what}; everything was already up to date")
        self.emit(report.to_json(), [safe(line) for line in lines])
        return 0
