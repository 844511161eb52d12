"""Storage: where bytes live, behind the small interface of :mod:`.base`.

Two implementations: :class:`~poetry_pipper.storage.s3.S3Storage` (S3 and S3-compatible
servers, through boto3) and :class:`~poetry_pipper.storage.local.LocalStorage` (a directory).
This module only picks one; boto3 is imported only for S3, and with a key pair only when
something else than a read is done (:class:`~poetry_pipper.storage.s3direct.S3DirectStorage`
reads through :mod:`.direct`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Blob, Listing, Progress, Storage

if TYPE_CHECKING:
    from ..credentials import Credentials
    from ..location import Location

__all__ = ["Blob", "Listing", "Progress", "Storage", "open_storage"]


def open_storage(location: Location, credentials: Credentials | None = None) -> Storage:
    """Open the storage behind a location."""
    if location.path is not None:
        from .local import LocalStorage

        return LocalStorage(location)
    from .direct import direct_reader

    reader = direct_reader(location, credentials)
    if reader is not None:  # reads without boto3 (direct.py); boto3 for the rest, imported when needed
        from .s3direct import S3DirectStorage

        assert credentials is not None
        return S3DirectStorage(location, credentials, reader)
    from .s3 import S3Storage

    return S3Storage(location, credentials)
