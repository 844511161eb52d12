"""S3 storage whose reads go through :mod:`.direct` first, and everything else through boto3.

Resolving and installing only read: a process that does nothing else never imports boto3. Every
read the direct path is unsure of (see :class:`~poetry_pipper.storage.direct.Unsure`) is made again
by :class:`~poetry_pipper.storage.s3.S3Storage`, so errors, retries and redirects are boto3's,
word for word. Writes, listings and presigned URLs are always boto3's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..credentials import Credentials
from ..location import Location
from .base import Blob, Listing, Progress
from .direct import DirectReader, Unsure

if TYPE_CHECKING:
    from .s3 import S3Storage


class S3DirectStorage:
    def __init__(self, location: Location, credentials: Credentials, reader: DirectReader) -> None:
        assert location.bucket is not None
        self.location = location
        self.credentials = credentials
        self.reader = reader
        self._boto3: S3Storage | None = None
        self._lock = threading.Lock()

    @property
    def boto3(self) -> S3Storage:
        """The boto3 storage, made on first use (boto3 is imported then)."""
        with self._lock:
            if self._boto3 is None:
                from .s3 import S3Storage

                self._boto3 = S3Storage(self.location, self.credentials)
            return self._boto3

    def _key(self, key: str) -> str:
        return f"{self.location.prefix}/{key}" if self.location.prefix else key

    # -- reads: direct first ---------------------------------------------------------------

    def get(self, key: str) -> Blob | None:
        try:
            found = self.reader.get(self._key(key))
        except Unsure:
            return self.boto3.get(key)
        return Blob(*found) if found is not None else None

    def get_ahead(self, key: str) -> None:
        """Send a GET now; the next :meth:`get` of the key takes its answer (DirectReader.get_ahead)."""
        self.reader.get_ahead(self._key(key))

    def download(self, key: str, dest: Path, *, progress: Progress | None = None) -> None:
        try:
            with open(dest, "wb") as out:

                def write(chunk: bytes) -> None:
                    out.write(chunk)
                    if progress:
                        progress(len(chunk))

                found = self.reader.download(self._key(key), write)
        except Unsure:
            found = True
            self.boto3.download(key, dest, progress=progress)  # writes dest again from the start
        if not found:
            from ..errors import NotFound

            raise NotFound(f"{self.location.key_url(key)} does not exist")

    def open_stream(self, key: str) -> tuple[BinaryIO, int]:
        try:
            found = self.reader.open(self._key(key))
        except Unsure:
            return self.boto3.open_stream(key)
        if found is None:
            from ..errors import NotFound

            raise NotFound(f"{self.location.key_url(key)} does not exist")
        return found

    def url_for(self, key: str) -> str:
        return f"s3://{self.location.bucket}/{self._key(key)}"

    # -- everything else: boto3 ------------------------------------------------------------

    def put(self, key: str, data: bytes, **options: Any) -> str:
        return self.boto3.put(key, data, **options)

    def upload(self, key: str, path: Path, **options: Any) -> None:
        self.boto3.upload(key, path, **options)

    def exists(self, key: str) -> bool:
        return self.boto3.exists(key)

    def list(self, prefix: str) -> Iterator[str]:
        return self.boto3.list(prefix)

    def list_dir(self, prefix: str) -> Listing:
        return self.boto3.list_dir(prefix)

    def delete(self, key: str) -> None:
        self.boto3.delete(key)

    def presign(self, key: str, expires_in: int) -> str:
        return self.boto3.presign(key, expires_in)
