"""Where releases come from: the one interface every reader of the bucket goes through.

Two implementations: :class:`~poetry_pipper.repository.Repository` (the layout, with the pipper
0.x objects beside it) and :class:`~poetry_pipper.authorize.PreauthorizedSource` (the links of a
file made by ``pipper authorize``). Both download through
:func:`~poetry_pipper.download.verified_download`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .index import DistFile, PackageIndex, Release
    from .storage.base import Progress


class ReleaseSource(Protocol):
    @property
    def location(self) -> object:
        """Where it is, for messages and plans (``str()`` of it)."""

    def package_index(self, name: str) -> PackageIndex | None:
        """Every version of a package (one request at most); None if it is not there."""

    def release(self, index: PackageIndex, version: str) -> Release | None:
        """One version, complete: may read more (a pipper 0.x release reads its bundle)."""

    def fetch(self, dist: DistFile, dest_dir: Path, *, progress: Progress | None = None) -> Path:
        """One file of a release in ``dest_dir``, verified by sha256 before it gets its name."""

    def cancel(self) -> None:
        """Stop every transfer in progress at its next chunk (Ctrl-C in another thread)."""
