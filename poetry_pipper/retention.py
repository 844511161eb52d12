"""The prune planner: which versions a retention policy removes, and why each one is kept or removed.

A pure function over a small input (per package: versions with their files, upload time and yank state),
independent of the storage and the index classes: ``plan(packages, policy, now=..., protection=...)``.

Rules (:class:`Policy`), at least one:

* ``keep=N``: the N newest releases by PEP 440 order are kept; only non-yanked versions count, so a
  yanked version is never among them. Pre-releases and dev releases count like any version: with
  ``1.0``, ``1.1.dev1``, ``1.1.dev2`` and ``1.1.dev3``, ``keep=2`` keeps the two newest dev releases and
  selects ``1.1.dev1`` (``1.0`` is kept by the guard below, not by the count).
* ``older_than=T``: only versions uploaded longer ago than T are candidates (an upload time in the
  future is not old).
* Both: a version is removed only when both select it.

Whatever the rules select, a version is kept when it is the newest non-yanked release of its package, when
it is the newest non-yanked *final* release (neither a pre-release nor a dev release), or when a pin of a
``--keep-locked`` file protects it (:class:`poetry_pipper.locks.Protection`). The final-release guard exists
because pip, uv and Poetry skip pre-releases unless asked: a CI that publishes ``1.3.0.devN`` builds would
otherwise push the last final release out of ``keep=N``, and every consumer asking for ``acme>=1.0`` without
``--pre`` would find nothing. So a package keeps what a default resolver picks, and what ``--pre`` picks.

``yank=True`` (a grace period): a selected version that is not yanked is yanked instead of deleted. A
version already yanked is deleted once it has been yanked longer ago than ``older_than``; it stays (yanked)
when there is no ``older_than``, or when its yank time is unknown (``yanked_at=None``: yanked by an older
pipper or by hand), since its grace period cannot be told. Without ``yank``, yanked versions are treated
like the others: the keep rule never counts them and ``older_than`` looks at their upload time.

Naive datetimes are taken as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from packaging.utils import canonicalize_name
from packaging.version import Version

from .errors import PipperError
from .locks import Protection, show

KEEP = "keep"
DELETE = "delete"
YANK = "yank"

#: The longest duration accepted by :func:`parse_age`: 100 years.
MAX_AGE = timedelta(days=36525)
_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_AMBIGUOUS = {"mo", "mon", "mos", "month", "months", "y", "yr", "yrs", "year", "years"}
_AGE = re.compile(r"(\d{1,12})\s*([a-z]+)")
_UNIT_TEXT = "s, m/min, h, d, w"


class PolicyError(PipperError):
    """A retention rule or duration the user gave is not usable."""


def parse_age(text: str) -> timedelta:
    """``"90d"`` -> 90 days. Units s, m/min, h, d, w (and their long and plural forms); months and years are refused."""
    text = text.strip()
    shown = show(text, 40)
    match = _AGE.fullmatch(text.lower())
    if not match:
        raise PolicyError(f"{shown} is not a duration: give a whole number and a unit, e.g. 90d "
                          f"(units: {_UNIT_TEXT})")
    number, unit = int(match[1]), match[2]
    if unit in _AMBIGUOUS:
        raise PolicyError(f"{shown}: months and years vary in length; give days or weeks instead, "
                          "e.g. 90d or 52w")
    if unit not in _UNITS:
        raise PolicyError(f"{shown}: unknown unit {unit!r}; use one of {_UNIT_TEXT}, e.g. 90d")
    seconds = number * _UNITS[unit]
    if seconds == 0:
        raise PolicyError(f"{shown}: a duration of 0 would select every version; give a positive "
                          "duration, e.g. 30d")
    if seconds > MAX_AGE.total_seconds():
        raise PolicyError(f"{shown} is more than 100 years; give a shorter duration, e.g. 365d")
    return timedelta(seconds=seconds)


def format_age(age: timedelta) -> str:
    """A policy duration the way it is written: ``30d``, ``12h``, ``90m``, ``45s``."""
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def format_ago(age: timedelta) -> str:
    """An elapsed time for people: ``3 days ago``, ``5 hours ago``; ``in the future`` for a negative one."""
    seconds = int(age.total_seconds())
    if seconds < 0:
        return "in the future (clock skew?)"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size} {unit}s ago"
    return f"{seconds} second{'' if seconds == 1 else 's'} ago"


def format_bytes(size: int) -> str:
    """``512 B``, ``12.3 kB``, ``4.0 MB`` (decimal units)."""
    if size < 1000:
        return f"{size} B"
    amount = size / 1000
    for unit in ("kB", "MB", "GB"):
        if amount < 1000:
            return f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} TB"


# -- input -------------------------------------------------------------------------------------


class FileInfo(NamedTuple):
    """One file of a version: ``(filename, sha256, size)``."""

    filename: str
    sha256: str
    size: int


@dataclass(frozen=True)
class VersionInfo:
    """One version of a package: its files, the upload time of its newest file, its yank state."""

    version: Version
    files: tuple[FileInfo, ...]
    uploaded: datetime
    yanked: bool = False
    yanked_at: datetime | None = None

    def __post_init__(self) -> None:  # plain (filename, sha256, size) tuples and lists are accepted
        object.__setattr__(self, "files", tuple(FileInfo(*file) for file in self.files))

    @property
    def bytes(self) -> int:
        return sum(file.size for file in self.files)


@dataclass(frozen=True)
class PackageVersions:
    name: str
    versions: tuple[VersionInfo, ...]


@dataclass(frozen=True)
class Policy:
    """The rules of one prune: ``keep`` (N newest releases), ``older_than``, both; and ``yank`` instead of delete."""

    keep: int | None = None
    older_than: timedelta | None = None
    yank: bool = False

    def __post_init__(self) -> None:
        if self.keep is None and self.older_than is None:
            raise PolicyError("prune needs a rule: give --keep N, --older-than DURATION (e.g. 90d), or both")
        if self.keep is not None and self.keep < 1:
            raise PolicyError(f"--keep {self.keep}: keep at least 1 version (the newest release is always kept)")
        if self.older_than is not None and not timedelta(0) < self.older_than <= MAX_AGE:
            raise PolicyError("--older-than must be longer than 0 and at most 100 years, e.g. 90d")

    def to_json(self) -> dict[str, Any]:
        older = self.older_than
        return {"keep": self.keep, "older_than": format_age(older) if older else None,
                "older_than_seconds": int(older.total_seconds()) if older else None, "yank": self.yank}


# -- output ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What happens to one version, and every reason for it (protections first, then each rule's verdict)."""

    name: str
    version: Version
    action: str
    files: tuple[FileInfo, ...]
    reasons: tuple[str, ...]
    locked_by: tuple[str, ...] = ()
    yanked: bool = False

    @property
    def bytes(self) -> int:
        return sum(file.size for file in self.files)

    def describe(self) -> str:
        """One line for people: ``delete acme 1.0 (2 files, 12.3 kB): not among the 5 newest; ...``."""
        files = f"{len(self.files)} file{'' if len(self.files) == 1 else 's'}"
        return f"{self.action} {self.name} {self.version} ({files}, {format_bytes(self.bytes)}): " + \
            "; ".join(self.reasons)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": str(self.version), "action": self.action, "yanked": self.yanked,
                "files": [{"filename": f.filename, "sha256": f.sha256, "size": f.size} for f in self.files], "bytes": self.bytes,
                "reasons": list(self.reasons), "locked_by": list(self.locked_by)}


@dataclass(frozen=True)
class Summary:
    """Versions and bytes per action."""

    deleted: tuple[int, int]
    yanked: tuple[int, int]
    kept: tuple[int, int]

    def line(self) -> str:
        parts = [f"{verb} {count} version{'' if count == 1 else 's'} ({format_bytes(size)})"
                 for verb, (count, size) in (("delete", self.deleted), ("yank", self.yanked), ("keep", self.kept))
                 if count or verb == "keep"]
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {action: {"versions": count, "bytes": size}
                for action, (count, size) in ((DELETE, self.deleted), (YANK, self.yanked), (KEEP, self.kept))}


@dataclass(frozen=True)
class Plan:
    policy: Policy
    now: datetime
    decisions: tuple[Decision, ...]

    def by_action(self, action: str) -> list[Decision]:
        return [decision for decision in self.decisions if decision.action == action]

    @property
    def summary(self) -> Summary:
        def total(action: str) -> tuple[int, int]:
            chosen = self.by_action(action)
            return len(chosen), sum(decision.bytes for decision in chosen)

        return Summary(total(DELETE), total(YANK), total(KEEP))

    def to_json(self) -> dict[str, Any]:
        """The plan for ``--json``: policy, time, one entry per version, summary."""
        return {"policy": self.policy.to_json(), "now": self.now.isoformat(),
                "decisions": [decision.to_json() for decision in self.decisions],
                "summary": self.summary.to_json()}


# -- the planner -------------------------------------------------------------------------------


def plan(packages: Iterable[PackageVersions], policy: Policy, *, now: datetime,
         protection: Protection | None = None) -> Plan:
    """One decision per version of every package, in a stable order (name, then newest version first)."""
    now = _aware(now)
    decisions: list[Decision] = []
    for package in sorted(packages, key=lambda p: (canonicalize_name(p.name), p.name)):
        decisions += _plan_package(package, policy, now, protection or Protection())
    return Plan(policy, now, tuple(decisions))


def _plan_package(package: PackageVersions, policy: Policy, now: datetime,
                  protection: Protection) -> list[Decision]:
    decisions = []
    releases = 0  # non-yanked versions seen so far, newest first: the rank of the current one
    final_seen = False  # the newest non-yanked final release is behind us
    for info in sorted(package.versions, key=_order, reverse=True):
        releases += not info.yanked
        rank = None if info.yanked else releases
        newest_final = not info.yanked and not info.version.is_prerelease and not final_seen
        final_seen = final_seen or newest_final
        locked = tuple(protection.protects(package.name, info.version, [file.sha256 for file in info.files]))
        guards = (["newest release"] if rank == 1 else []) + [f"locked by {o}" for o in locked]
        if newest_final and rank != 1:
            guards.insert(0, "newest final release (resolvers skip pre-releases unless asked)")
        selected, verdicts = _select(info, rank, policy, now)
        action = KEEP if guards or not selected else _removal(policy, info)
        decisions.append(Decision(package.name, info.version, action, tuple(info.files),
                                  tuple(guards + verdicts), locked, info.yanked))
    return decisions


def _removal(policy: Policy, info: VersionInfo) -> str:
    """A selected version: yanked first with ``--yank`` (a grace period), deleted otherwise."""
    return YANK if policy.yank and not info.yanked else DELETE


def _select(info: VersionInfo, rank: int | None, policy: Policy, now: datetime) -> tuple[bool, list[str]]:
    """Whether every rule selects the version, and each rule's verdict in words."""
    selected = True
    verdicts = []
    if policy.keep is not None:
        if rank is None:
            verdicts.append(f"yanked, so not counted among the {policy.keep} newest")
        elif rank <= policy.keep:
            selected = False
            verdicts.append(f"among the {policy.keep} newest")
        else:
            verdicts.append(f"not among the {policy.keep} newest (number {rank})")
    if info.yanked and policy.yank:
        chosen, verdict = _yank_grace(info, policy.older_than, now)
        selected = selected and chosen
        verdicts.append(verdict)
    elif policy.older_than is not None:
        age = now - _aware(info.uploaded)
        limit = format_age(policy.older_than)
        if age > policy.older_than:
            verdicts.append(f"uploaded {format_ago(age)}, older than {limit}")
        else:
            selected = False
            verdicts.append(f"uploaded {format_ago(age)}, not older than {limit}")
    return selected, verdicts


def _yank_grace(info: VersionInfo, older_than: timedelta | None, now: datetime) -> tuple[bool, str]:
    """With ``yank``: a yanked version is deleted once yanked longer ago than ``older_than``."""
    if older_than is None:
        return False, "already yanked; with --yank, yanked versions are deleted only with --older-than"
    if info.yanked_at is None:
        return False, "yanked at an unknown time, so its grace period cannot be told; kept"
    age = now - _aware(info.yanked_at)
    if age > older_than:
        return True, f"yanked {format_ago(age)}, longer than {format_age(older_than)}"
    return False, f"yanked {format_ago(age)}, not longer than {format_age(older_than)}"


def _order(info: VersionInfo) -> tuple[Version, str, tuple[FileInfo, ...], datetime]:
    """PEP 440 order; equal versions (``1.0``, ``1.0.0``) by their text, files and upload time, for a stable plan."""
    return info.version, str(info.version), tuple(sorted(info.files)), _aware(info.uploaded)


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when
