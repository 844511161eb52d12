"""The local wheel cache, keyed by sha256, in the user cache directory.

``$PIPPER_CACHE_DIR``, else ``$XDG_CACHE_HOME/poetry-pipper``, else ``~/.cache/poetry-pipper``.
A cached wheel is re-hashed before use, so a corrupted cache entry is replaced, never installed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .download import sha256_file
from .errors import FormatError
from .index import DistFile

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def cache_dir() -> Path:
    explicit = os.environ.get("PIPPER_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "poetry-pipper"


def entry_dir(dist: DistFile) -> Path:
    """``<cache>/files/<sha[:2]>/<sha>``: keyed by the validated hash only, never by other bucket text."""
    if not _SHA256.match(dist.sha256):
        raise FormatError(f"{dist.filename[:100]!r} has no valid sha256; run `pipper verify` on the repository")
    return cache_dir() / "files" / dist.sha256[:2] / dist.sha256


def entry_path(dist: DistFile) -> Path:
    name = dist.filename
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        raise FormatError(f"{name[:100]!r} is not a file name; run `pipper verify` on the repository")
    return entry_dir(dist) / name


def cached_file(dist: DistFile) -> Path | None:
    """The cached file, if present and intact (re-hashed: a corrupted entry is removed, never used)."""
    path = entry_path(dist)
    if not path.is_file():
        return None
    if sha256_file(path) != dist.sha256:
        path.unlink(missing_ok=True)
        return None
    return path
