"""Compare-and-swap: the read-modify-write of one JSON document, and the pages derived from it.

Every writer of a shared document -- publishers merging a release into a package index, the
root list, yank/delete, ``reindex`` -- goes through :class:`Engine`:

1. GET the document (and its etag), or start from its empty value;
2. let the caller change it; nothing to change means nothing is written;
3. PUT it with ``If-Match: <etag>`` (``If-None-Match: *`` when creating); on 412 start again,
   after a short randomized pause, up to :data:`MAX_ATTEMPTS` times.

A document may have derived pages (the PEP 503 HTML and PEP 691 JSON pages of an index), each
with its own key, content type and Cache-Control. After a write every page is rendered from the
value written, then the document is read again: if another writer changed it meanwhile, the pages
are rendered again from that newer value. So whoever writes last leaves the pages matching the
newest document, without any lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from .errors import PreconditionFailed, StorageError
from .keys import JSON_TYPE
from .retry import pause
from .storage.base import Blob, Storage

MAX_ATTEMPTS = 50


class Document(Protocol):
    def to_bytes(self) -> bytes: ...


T = TypeVar("T", bound=Document)


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page derived from a document: its key, how it is rendered, and the headers it is served with."""

    key: str
    render: Callable[[T], bytes]
    content_type: str
    cache_control: str | None = None

    def is_current(self, blob: Blob | None, data: bytes) -> bool:
        """True if ``blob`` holds ``data`` with this page's media type (where the backend stores one)."""
        if blob is None or blob.data != data:
            return False
        return not blob.content_type or blob.content_type.split(";")[0].strip() == self.content_type


@dataclass(frozen=True)
class Doc(Generic[T]):
    """One shared document: where it lives, how to read it, its empty value and its derived pages."""

    key: str
    parse: Callable[[bytes], T]
    empty: Callable[[], T]
    pages: tuple[Page[T], ...] = ()


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What an update left: the value, its etag ("" if absent), and whether this call wrote.

    ``written`` is also True when the write *may* have happened: a write whose reply was lost is
    retried by botocore and then fails its condition although it was applied, so the caller must
    still refresh what it derives from the document.
    """

    value: T
    etag: str
    written: bool
    #: the keys of the pages this call wrote
    pages_written: tuple[str, ...] = ()


class Unread:
    pass


#: ``first=UNREAD``: the engine reads the document itself on the first attempt.
UNREAD = Unread()


class Engine:
    """Compare-and-swap updates of the documents of one storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def update(
        self,
        doc: Doc[T],
        mutate: Callable[[T], bool],
        *,
        first: Blob | Unread | None = UNREAD,
        check_page: bool = False,
    ) -> Outcome[T]:
        """Apply ``mutate`` (True: it changed the value) until the write wins; then refresh the pages.

        ``first`` is a read of the document the caller already made, used for the first attempt.
        The pages are refreshed when this call wrote, or, with ``check_page``, whenever the document
        exists (each read first, written only if it differs: what ``reindex`` does).
        """
        outcome = self._swap(doc, mutate, first)
        if doc.pages and (outcome.written or (check_page and outcome.etag)):
            written = self.refresh_pages(doc, outcome, only_if_changed=check_page)
            return Outcome(outcome.value, outcome.etag, outcome.written, written)
        return outcome

    def _swap(self, doc: Doc[T], mutate: Callable[[T], bool], first: Blob | Unread | None) -> Outcome[T]:
        contended = False
        for attempt in range(MAX_ATTEMPTS):
            blob = self.storage.get(doc.key) if isinstance(first, Unread) or attempt else first
            value = doc.parse(blob.data) if blob else doc.empty()
            if not mutate(value):
                return Outcome(value, blob.etag if blob else "", contended)
            try:
                etag = self.storage.put(
                    doc.key, value.to_bytes(), content_type=JSON_TYPE,
                    if_none_match=blob is None, if_match=blob.etag if blob else None,
                )
            except PreconditionFailed:
                contended = True
                pause(attempt)
                continue
            return Outcome(value, etag, True)
        raise StorageError(
            f"{self.storage.location.key_url(doc.key)} kept changing under concurrent writers; run the command again"
        )

    def refresh_pages(self, doc: Doc[T], outcome: Outcome[T], *, only_if_changed: bool = False) -> tuple[str, ...]:
        """Write the pages derived from ``outcome.value``, then make sure they came from the newest document.

        With ``only_if_changed`` each page is read first and left alone when it is already right
        (its bytes, and its media type where the backend stores one); when all are, the document is
        not read again (whoever changed it since refreshes the pages after its own write). Returns
        the keys written.
        """
        value, etag, written = outcome.value, outcome.etag, dict[str, None]()
        for _attempt in range(MAX_ATTEMPTS):
            for page in doc.pages:
                data = page.render(value)
                if only_if_changed and page.is_current(self.storage.get(page.key), data):
                    continue
                self.storage.put(page.key, data, content_type=page.content_type, cache_control=page.cache_control)
                written[page.key] = None
            if only_if_changed and not written:
                return ()
            blob = self.storage.get(doc.key)
            if blob is None or blob.etag == etag:
                break
            value, etag = doc.parse(blob.data), blob.etag
        return tuple(written)
