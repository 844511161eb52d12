"""Poetry's ``solver.min-release-age`` (Poetry 2.4 and later) for an s3:// or file:// source.

Poetry applies the setting in its HTTP repositories only, from the upload times of the index's
files (PEP 700). A pipper source is not one of them, so it applies the same rule itself, with the
upload times its package index already holds (no extra request):

* ``solver.min-release-age = N`` (days): a version is left out when any of its files was uploaded
  less than N days ago; a file without an upload time counts as old (Poetry's rule);
* ``solver.min-release-age-exclude``: names never filtered;
* ``solver.min-release-age-exclude-source``: sources (by name or URL) never filtered.

The versions left out are logged as Poetry logs its own (a warning when resolution fails).
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from ..schema import parse_time

if TYPE_CHECKING:
    from ..index import Release


def _names(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [str(item).strip() for item in value if str(item).strip()]


def _days(value: Any) -> int:
    try:
        days = int(value or 0)
    except (TypeError, ValueError):
        return 0
    return max(days, 0)


class ReleaseAge:
    """The cutoff of one source, and the versions it left out (for Poetry's summary)."""

    def __init__(self, config: Any, source_name: str, url: str, now: datetime.datetime | None = None) -> None:
        self.days = _days(config.get("solver.min-release-age", 0))
        sources = _names(config.get("solver.min-release-age-exclude-source"))
        if source_name.lower() in {s.lower() for s in sources} or url.rstrip("/") in {s.rstrip("/") for s in sources}:
            self.days = 0
        now = now or datetime.datetime.now(datetime.UTC)
        self.cutoff = now - datetime.timedelta(days=self.days) if self.days else None
        excluded = _names(config.get("solver.min-release-age-exclude"))
        self.all_excluded = ":all:" in excluded
        self.excluded = {canonicalize_name(n) for n in excluded if not n.startswith(":")}
        self.filtered: defaultdict[str, set[str]] = defaultdict(set)

    def too_recent(self, name: str, release: Release) -> bool:
        """True (and remembered) if ``release`` is newer than the cutoff and the setting applies to it."""
        if self.cutoff is None or self.all_excluded or canonicalize_name(name) in self.excluded:
            return False
        for dist in release.files.values():
            uploaded = parse_time(dist.upload_time) if dist.upload_time else None
            if uploaded is not None and uploaded > self.cutoff:
                self.filtered[canonicalize_name(name)].add(release.version)
                return True
        return False

    def log(self, source_name: str, *, level: str, reset: bool) -> None:
        """What Poetry's ``log_age_filtered_versions`` says for its own sources, for this one."""
        if not self.filtered:
            return
        from packaging.version import Version

        logger = logging.getLogger("poetry.repositories.repository.Repository")
        emit = getattr(logger, level)
        emit(f"<c1>Source ({source_name}):</c1> The following package versions were ignored"
             f" due to solver.min-release-age={self.days}")
        for name in sorted(self.filtered):
            versions = ", ".join(str(v) for v in sorted(Version(v) for v in self.filtered[name]))
            emit(f"<c1>Source ({source_name}):</c1> {name}: {versions}")
        if reset:
            self.filtered.clear()
