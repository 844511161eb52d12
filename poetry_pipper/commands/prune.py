from __future__ import annotations

from typing import TYPE_CHECKING

from cleo.helpers import argument, option

from ..errors import PipperError
from .base import PipperCommand

if TYPE_CHECKING:
    from ..prune import PruneReport
    from ..retention import Policy


class PruneCommand(PipperCommand):
    name = "prune"
    description = "Delete (or yank) old versions by retention rules; never the newest release, never a locked one."
    arguments = [argument("names", "Package names (default: every package of the repository).", optional=True,
                          multiple=True)]
    uses_repository = True
    json_output = "Print the plan and what was done as JSON."
    options = [
        option("keep", None, "Keep the N newest releases of each package (pre-releases count; the newest final "
               "release is kept too).", flag=False),
        option("older-than", None, "Only remove versions uploaded longer ago than this: 90d, 12h, 2w (with --yank: "
               "delete versions yanked longer ago).", flag=False),
        option("keep-locked", None, "Never remove a version this file pins: poetry.lock, uv.lock, pylock.toml or a "
               "requirements file (repeat for several).", flag=False, multiple=True),
        option("yank", None, "Yank instead of deleting (a grace period); a later run with --older-than deletes "
               "what has been yanked longer than that."),
        option("dry-run", None, "Print the plan and change nothing."),
    ]
    help = """Selects versions by the rules (at least one): --keep N keeps the N newest releases of each
package, --older-than removes only versions uploaded longer ago than that; with both, a version
goes only when both select it. Whatever the rules say, a version is kept when it is the newest
release of its package that is not yanked, the newest such final release (pre-releases and dev
builds are skipped by resolvers unless asked, so a stream of 1.3.0.devN builds never pushes out
1.2.0), or pinned by a --keep-locked file (by name and version, or by the sha256 of one of its
files).

Removing a version deletes all its files. Each change is checked again against fresh reads
right before it is made: a version that was published, changed or yanked after the plan was
read is left alone. An interrupted prune (Ctrl-C, a killed job) leaves a consistent repository
(`pipper verify` names the unfinished prune); running it again finishes the job. Needs write
access (s3:PutObject, s3:DeleteObject: docs/iam.md).

  pipper prune -b s3://my-bucket/pypi --keep 20 --older-than 90d --dry-run
  pipper prune acme -b s3://my-bucket/pypi --keep 10 --keep-locked poetry.lock --keep-locked uv.lock
  pipper prune -b s3://my-bucket/pypi --older-than 30d --yank     # yank now, delete 30 days later"""

    def perform(self) -> int:
        from ..locks import Protection
        from ..prune import apply, prepare
        from ..specs import normalize_name

        names = [normalize_name(name) for name in self.argument("names") or []]
        policy = self.policy()
        protection = Protection.from_files(self.option("keep-locked") or [])
        repo = self.repository()
        prepared = prepare(repo, names, policy, protection)
        if self.option("dry-run"):
            from ..prune import PruneReport

            report = PruneReport(str(repo.location), prepared.plan, True, [],
                                 [changes for changes, _etag in prepared.pending.values()], prepared.warnings)
        else:
            try:
                report = apply(repo, prepared)
            except KeyboardInterrupt:
                return self.fail("interrupted; the repository is consistent: run the same prune again to finish",
                                 130, None)
        for warning in report.warnings:
            self.line_error(f"<comment>warning: {_escape(warning)}</comment>")
        self.emit(report.to_json(), _text(report))
        return 0

    def policy(self) -> Policy:
        from ..retention import Policy, parse_age

        keep = self.option("keep")
        if keep is not None and not (keep.strip().isdecimal() and len(keep.strip()) < 10):
            raise PipperError(f"--keep {keep[:40]!r} is not a whole number: give how many versions to keep, e.g. --keep 10")
        older = self.option("older-than")
        return Policy(keep=int(keep) if keep is not None else None,
                      older_than=parse_age(older) if older is not None else None, yank=bool(self.option("yank")))


def _escape(text: str) -> str:
    from cleo.formatters.formatter import Formatter

    return Formatter.escape(text)


def _text(report: PruneReport) -> list[str]:
    from ..retention import DELETE, KEEP, YANK, format_bytes

    lines = [_escape(d.describe()) for d in report.plan.decisions]
    lines += [_escape(line) for line in report.finished]
    lines += [f"<comment>unfinished prune: {_escape(p.describe())}; a run without --dry-run finishes it</comment>"
              for p in report.pending]
    summary = report.plan.summary
    counts = {DELETE: summary.deleted, YANK: summary.yanked, KEEP: summary.kept}
    verbs = {DELETE: "delete", YANK: "yank", KEEP: "keep"} if report.dry_run else \
        {DELETE: "deleted", YANK: "yanked", KEEP: "kept"}
    parts = [f"{verbs[action]} {count} version{'' if count == 1 else 's'} ({format_bytes(size)})"
             for action, (count, size) in counts.items() if count or action == KEEP]
    if len(parts) == 1:
        parts.insert(0, "nothing to remove" if report.dry_run else "nothing removed")
    if not report.plan.decisions:
        lines.append(f"{report.location}: nothing to prune (no versions)")
    elif report.dry_run:
        lines.append(f"Dry run, nothing changed in {report.location}: would {', '.join(parts)}")
    else:
        lines.append(f"Pruned {report.location}: {', '.join(parts)}")
    return lines
