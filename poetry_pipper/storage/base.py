"""The storage interface: the one small surface between the repository format and where bytes live.

Keys are ``/``-separated paths relative to the repository root. The backends
(:mod:`.s3`, :mod:`.local`) implement :class:`Storage`; :func:`poetry_pipper.storage.open_storage`
picks one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from ..location import Location

#: Called with the number of bytes moved since the last call.
Progress = Callable[[int], None]
#: What :meth:`Storage.list_dir` returns: (sub-folder names, object names).
Listing = tuple[list[str], list[str]]


@dataclass(frozen=True)
class Blob:
    """An object's bytes, the version tag to pass back to a conditional write, and its media type
    ("" where the backend stores none: a directory)."""

    data: bytes
    etag: str
    content_type: str = ""


class Storage(Protocol):
    """What the repository format needs from a place that stores bytes."""

    location: Location

    def get(self, key: str) -> Blob | None:
        """The object, or None if it does not exist."""

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        cache_control: str | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> str:
        """Write an object atomically and return its new etag.

        ``content_type`` and ``cache_control`` are what HTTP clients reading the object straight
        from the store get (a directory stores neither). ``if_none_match`` creates only if absent;
        ``if_match`` replaces only if the current etag is the given one. A lost condition raises
        :class:`PreconditionFailed`.
        """

    def upload(
        self, key: str, path: Path, *, size: int, progress: Progress | None = None, cache_control: str | None = None
    ) -> None:
        """Write a (possibly large) file; multipart where the backend has it."""

    def download(self, key: str, dest: Path, *, progress: Progress | None = None) -> None:
        """Stream an object to ``dest`` (the caller verifies and renames); NotFound if absent."""

    def open_stream(self, key: str) -> tuple[BinaryIO, int]:
        """A readable stream of the object and its size, in one request; NotFound if absent."""

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under ``prefix``, in lexical order."""

    def list_dir(self, prefix: str) -> Listing:
        """What lies directly under the folder ``prefix`` (``""`` or ending in ``/``), in one LIST:
        (sub-folder names, object names), both without ``prefix`` and sorted."""

    def delete(self, key: str) -> None: ...

    def url_for(self, key: str) -> str:
        """A stable, unsigned URL for the object (``s3://...`` or ``file://...``)."""

    def presign(self, key: str, expires_in: int) -> str:
        """A URL anyone can GET until it expires."""

