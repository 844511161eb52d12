"""The local wheel cache, keyed by sha256, in the user cache directory.

``$PIPPER_CACHE_DIR``, else ``$XDG_CACHE_HOME/poetry-pipper``, else ``~/.cache/poetry-pipper``.
A cached wheel is re-hashed before use, so a corrupted cache entry is replaced, never installed.
"""

from __future__ import annotations

import os
from pathlib import Path

from .download import sha256_file
from .index import Release


def cache_dir() -> Path:
    explicit = os.environ.get("PIPPER_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "poetry-pipper"


def wheel_dir(release: Release) -> Path:
    return cache_dir() / "wheels" / release.meta.sha256[:2] / release.meta.sha256


def cached_wheel(release: Release) -> Path | None:
    """The cached wheel for this release, if present and intact."""
    path = wheel_dir(release) / release.meta.wheel_name
    if not path.is_file():
        return None
    if sha256_file(path) != release.meta.sha256:
        path.unlink(missing_ok=True)
        return None
    return path
