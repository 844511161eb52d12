"""A requests transport adapter for ``s3://`` and ``file://`` URLs.

Poetry downloads wheels with its own requests session (``Authenticator``). Mounting this
adapter lets those downloads use the stable ``s3://bucket/prefix/...`` links of a pipper
source: Poetry's artifact cache is keyed by that URL, so a second venv reuses the cached
wheel with zero S3 requests. A failure is a one-line :class:`PipperError`, never an
``OSError`` (which Poetry would retry five times and then blame on DNS).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict

if TYPE_CHECKING:
    from ..repository import Repository

_LOCK = threading.Lock()
#: repository root URL (s3://bucket/prefix or file:///dir) -> opener of its Repository, set by the
#: sources; opened only when a download needs it (a warm artifact cache never imports boto3).
_ROOTS: dict[str, Callable[[], Repository]] = {}


def register_root(url: str, opener: Callable[[], Repository]) -> None:
    with _LOCK:
        _ROOTS[url.rstrip("/")] = opener


def _repository_for(url: str) -> tuple[Repository, str]:
    with _LOCK:
        roots = sorted(_ROOTS.items(), key=lambda item: len(item[0]), reverse=True)
    for root, opener in roots:
        if url.startswith(root + "/"):
            return opener(), url[len(root) + 1:]
    from ..errors import PipperError

    raise PipperError(f"{url} does not belong to any pipper source of this project: check [[tool.poetry.source]]")


class PipperAdapter(BaseAdapter):
    def send(self, request: PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> Response:
        url = request.url or ""
        response = Response()
        response.url = url
        response.request = request
        response.status_code = 200
        response.reason = "OK"
        if url.startswith("file:"):
            path = Path(unquote(urlparse(url).path))
            if not path.is_file():
                response.status_code, response.reason = 404, "Not Found"
                response.raw = _Empty()
                return response
            response.headers = CaseInsensitiveDict({"Content-Length": str(path.stat().st_size)})
            response.raw = open(path, "rb")  # noqa: SIM115 - closed by requests' Response.close
            return response
        repository, key = _repository_for(url)
        body, size = _open(repository, key)
        response.headers = CaseInsensitiveDict({"Content-Length": str(size)})
        response.raw = body
        return response

    def close(self) -> None:
        pass


def _open(repository: Repository, key: str) -> tuple[Any, int]:
    from ..errors import NotFound

    try:
        return repository.storage.open_stream(key)
    except NotFound:
        # pipper 0.x fallback (legacy.py): a wheel locked from a 0.x bundle that was not migrated.
        found = repository.legacy.open_wheel(key)
        if found is None:
            raise
        return found


class _Empty:
    def read(self, *args: Any) -> bytes:
        return b""

    def close(self) -> None:
        pass


_PATCHED = False


def mount_on_poetry_sessions() -> None:
    """Make every Poetry ``Authenticator`` session speak s3:// and file:// (idempotent)."""
    global _PATCHED
    with _LOCK:
        if _PATCHED:
            return
        from .compat import mount_on_sessions

        def mount(session: Any) -> None:
            adapter = PipperAdapter()
            session.mount("s3://", adapter)
            session.mount("file://", adapter)

        mount_on_sessions(mount)
        _PATCHED = True
