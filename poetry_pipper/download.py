"""The one verified-download routine: bytes land in a temporary file, are checked by sha256, and only
then get their final name. A cancelled or failed transfer leaves nothing behind.

Every reader uses it: wheels from the repository, wheels inside pipper 0.x bundles, and wheels
behind pre-authorized links.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from .errors import Cancelled, IntegrityError, PipperError
from .retry import retry
from .storage.base import Progress

_CHUNK = 1024 * 1024
#: A body damaged in transit is fetched once more; stored bytes that are wrong fail twice.
ATTEMPTS = 2
#: Writes the bytes to the given path, reporting progress; raises for a missing object.
Writer = Callable[[Path, Progress], None]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Mismatch(Exception):
    def __init__(self, actual: str) -> None:
        self.actual = actual


def verified_download(
    write: Writer,
    final: Path,
    sha256: str,
    *,
    mismatch: Callable[[str], PipperError],
    cancelled: threading.Event | None = None,
    progress: Progress | None = None,
    attempts: int = ATTEMPTS,
) -> Path:
    """Write ``final`` with ``write``, verified against ``sha256`` before it gets its name.

    ``mismatch(actual_sha256)`` is the error for bytes that stay wrong after ``attempts`` tries.
    Setting ``cancelled`` (Ctrl-C in another thread) stops the transfer at its next chunk.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=final.parent, prefix=".pipper-tmp-", delete=False) as handle:
        tmp = Path(handle.name)

    def check_cancelled() -> None:
        if cancelled is not None and cancelled.is_set():
            raise Cancelled(f"download of {final.name} cancelled")

    def tick(amount: int) -> None:
        check_cancelled()
        if progress:
            progress(amount)

    def attempt() -> None:
        check_cancelled()
        write(tmp, tick)
        actual = sha256_file(tmp)
        if actual != sha256:
            raise _Mismatch(actual)

    try:
        retry(attempt, attempts=attempts, on=(_Mismatch,),
              give_up=lambda exc: mismatch(exc.actual if isinstance(exc, _Mismatch) else ""))
        tmp.replace(final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def integrity_error(filename: str, where: str, expected: str, advice: str) -> Callable[[str], IntegrityError]:
    """The usual hash-mismatch line for :func:`verified_download`."""
    return lambda actual: IntegrityError(
        f"hash mismatch for {filename} from {where}: expected sha256 {expected[:16]}..., got {actual[:16]}...;"
        f" nothing was installed{advice}"
    )
