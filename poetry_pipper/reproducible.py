"""Reproducible builds: the ``SOURCE_DATE_EPOCH`` every build runs with.

Build backends (setuptools, hatchling, poetry-core) date the files of a wheel or sdist with
``SOURCE_DATE_EPOCH`` when it is set, and otherwise with the files' modification times or the
build time, so the same source would give different bytes on each build. pipper always sets it:

1. ``SOURCE_DATE_EPOCH`` already set by the user (a whole number of seconds since 1970) is kept;
2. else, when the project directory is inside a git work tree and git is installed, the time of
   its last commit (``git -C DIR log -1 --format=%ct``);
3. else :data:`FALLBACK_EPOCH`, 2020-02-02 00:00:00 UTC (hatchling's own default).

Zip files hold dates from 1980 to 2107 only: a user value outside is refused, a commit time outside
is moved to the nearest end.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import PipperError

#: The epoch used when there is neither a user value nor a git commit: 2020-02-02T00:00:00Z.
FALLBACK_EPOCH = 1580601600
#: 1980-01-01T00:00:00Z and 2107-12-31T23:59:59Z, the earliest and latest dates a zip file can hold.
ZIP_EPOCH = 315532800
ZIP_LAST = 4354819199
_VARIABLE = "SOURCE_DATE_EPOCH"


def source_date_epoch(project: Path) -> int:
    """The ``SOURCE_DATE_EPOCH`` to build ``project`` with (see the module docstring)."""
    given = os.environ.get(_VARIABLE, "").strip()
    if given:
        if not re.fullmatch(r"[0-9]{1,12}", given) or not ZIP_EPOCH <= int(given) <= ZIP_LAST:
            raise PipperError(
                f"SOURCE_DATE_EPOCH={given[:40]!r} is not a time a zip file can hold: give a whole number of "
                f"seconds since 1970, between {ZIP_EPOCH} (1980) and {ZIP_LAST} (2107), or unset it"
            )
        return int(given)
    committed = last_commit_time(project)
    return FALLBACK_EPOCH if committed is None else min(max(committed, ZIP_EPOCH), ZIP_LAST)


def last_commit_time(project: Path) -> int | None:
    """The commit time of the last commit of the git work tree holding ``project``, or None."""
    git = shutil.which("git")
    if git is None or not project.is_dir():
        return None
    inside = _git(git, project, "rev-parse", "--is-inside-work-tree")
    if inside != "true":
        return None
    stamp = _git(git, project, "log", "-1", "--format=%ct")
    return int(stamp) if stamp and stamp.isdigit() else None


def _git(git: str, project: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            [git, "-C", str(project), *args], capture_output=True, text=True, check=False, timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def build_environment(project: Path) -> dict[str, str]:
    """``os.environ`` plus the ``SOURCE_DATE_EPOCH`` for building ``project`` in a subprocess."""
    return {**os.environ, _VARIABLE: str(source_date_epoch(project))}


@contextmanager
def epoch_set(project: Path) -> Iterator[int]:
    """Set ``SOURCE_DATE_EPOCH`` in this process while building ``project`` in-process (poetry-core)."""
    epoch = source_date_epoch(project)
    before = os.environ.get(_VARIABLE)
    os.environ[_VARIABLE] = str(epoch)
    try:
        yield epoch
    finally:
        if before is None:
            os.environ.pop(_VARIABLE, None)
        else:
            os.environ[_VARIABLE] = before
