"""A repository in a local directory, laid out exactly like the bucket.

Writes go to a temporary file in the same directory and are renamed into place, so no
reader ever sees a half-written object. Create-if-absent uses ``os.link`` (atomic, fails if
the name exists); compare-and-swap holds an ``flock`` on ``<root>/.pipper-lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import NotFound, PreconditionFailed, StorageError
from ..location import Location
from .base import Blob, Listing, Progress

_CHUNK = 1024 * 1024
_TMP_MARK = ".pipper-tmp-"


def _etag(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class LocalStorage:
    def __init__(self, location: Location) -> None:
        assert location.path is not None
        self.location = location
        self.root = location.path

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        root = self.root.resolve()
        if path != root and root not in path.parents:
            raise StorageError(f"refusing key {key!r}: it points outside the repository {self.root}")
        return path

    @contextlib.contextmanager
    def _tempfile(self, final: Path) -> Iterator[Path]:
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot write to {final.parent}: {exc.strerror}") from None
        fd, name = tempfile.mkstemp(prefix=_TMP_MARK, dir=final.parent)
        os.close(fd)
        tmp = Path(name)
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".pipper-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def get(self, key: str) -> Blob | None:
        try:
            data = self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {self.location.key_url(key)}: {exc.strerror}") from None
        return Blob(data, _etag(data))

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
        # A directory stores no content type or Cache-Control: whatever serves it decides those.
        if key.endswith("/"):
            raise StorageError(f"refusing key {key!r}: a directory repository cannot hold a key that ends in '/'")
        final = self._path(key)
        with self._tempfile(final) as tmp:
            tmp.write_bytes(data)
            if if_none_match:
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    raise PreconditionFailed(key) from None
            elif if_match is not None:
                with self._locked():
                    current = self.get(key)
                    if current is None or current.etag != if_match:
                        raise PreconditionFailed(key)
                    os.replace(tmp, final)
            else:
                os.replace(tmp, final)
        return _etag(data)

    def upload(
        self, key: str, path: Path, *, size: int, progress: Progress | None = None, cache_control: str | None = None
    ) -> None:
        final = self._path(key)
        with self._tempfile(final) as tmp, open(path, "rb") as src, open(tmp, "wb") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
                if progress:
                    progress(len(chunk))
            dst.flush()
            os.fsync(dst.fileno())
            os.replace(tmp, final)

    def download(self, key: str, dest: Path, *, progress: Progress | None = None) -> None:
        try:
            with open(self._path(key), "rb") as src, open(dest, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
                    if progress:
                        progress(len(chunk))
        except FileNotFoundError:
            raise NotFound(f"{self.location.key_url(key)} does not exist") from None

    def open_stream(self, key: str) -> tuple[BinaryIO, int]:
        path = self._path(key)
        try:
            return open(path, "rb"), path.stat().st_size
        except FileNotFoundError:
            raise NotFound(f"{self.location.key_url(key)} does not exist") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        # As S3: every key that starts with ``prefix``, so walk the folder the prefix's last part is in.
        start = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        root = self.root.resolve()
        if not start.is_dir() or (start.resolve() != root and root not in start.resolve().parents):
            return
        found = []
        for dirpath, _dirs, files in os.walk(start):
            for name in files:
                if name.startswith((_TMP_MARK, ".pipper-lock")):
                    continue
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        yield from sorted(found)

    def list_dir(self, prefix: str) -> Listing:
        base = self._path(prefix) if prefix else self.root
        folders: list[str] = []
        names: list[str] = []
        try:
            entries = list(os.scandir(base))
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.name)
            elif entry.is_file(follow_symlinks=False) and not entry.name.startswith((_TMP_MARK, ".pipper-lock")):
                names.append(entry.name)
        return sorted(folders), sorted(names)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url_for(self, key: str) -> str:
        return self._path(key).as_uri()

    def presign(self, key: str, expires_in: int) -> str:
        return self.url_for(key)

