"""Compare-and-swap: the read-modify-write of one JSON document, and the page derived from it.

Every writer of a shared document -- publishers merging a release into a package index, the
root list, yank/delete, ``reindex`` -- goes through :class:`Engine`:

1. GET the document (and its etag), or start from its empty value;
2. let the caller change it; nothing to change means nothing is written;
3. PUT it with ``If-Match: <etag>`` (``If-None-Match: *`` when creating); on 412 start again,
   after a short randomized pause, up to :data:`MAX_ATTEMPTS` times.

A document may have a derived page (the PEP 503 page of an index). After a write the page is
rendered from the value written, then the document is read again: if another writer changed it
meanwhile, the page is rendered again from that newer value. So whoever writes last leaves the
page matching the newest document, without any lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from .errors import PreconditionFailed, StorageError
from .keys import HTML_TYPE, JSON_TYPE
from .retry import pause
from .storage.base import Blob, Storage

MAX_ATTEMPTS = 50


class Document(Protocol):
    def to_bytes(self) -> bytes: ...


T = TypeVar("T", bound=Document)


@dataclass(frozen=True)
class Doc(Generic[T]):
    """One shared document: where it lives, how to read it, its empty value and its derived page."""

    key: str
    parse: Callable[[bytes], T]
    empty: Callable[[], T]
    page_key: str | None = None
    render: Callable[[T], bytes] | None = None


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
    page_written: bool = False


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
        """Apply ``mutate`` (True: it changed the value) until the write wins; then refresh the page.

        ``first`` is a read of the document the caller already made, used for the first attempt.
        The page is refreshed when this call wrote, or, with ``check_page``, whenever the document
        exists (read first, written only if it differs: what ``reindex`` does).
        """
        outcome = self._swap(doc, mutate, first)
        if doc.page_key is not None and (outcome.written or (check_page and outcome.etag)):
            written = self.refresh_page(doc, outcome, only_if_changed=check_page)
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

    def refresh_page(self, doc: Doc[T], outcome: Outcome[T], *, only_if_changed: bool = False) -> bool:
        """Write the page derived from ``outcome.value``, then make sure it came from the newest document.

        With ``only_if_changed`` the page is read first and left alone when it is already right (and
        then the document is not read again: whoever changed it since refreshes the page after its
        own write). True if the page was written.
        """
        assert doc.page_key is not None and doc.render is not None
        value, etag, written = outcome.value, outcome.etag, False
        for _attempt in range(MAX_ATTEMPTS):
            page = doc.render(value)
            current = self.storage.get(doc.page_key) if only_if_changed else None
            if current is not None and current.data == page and not written:
                return False
            if current is None or current.data != page:
                self.storage.put(doc.page_key, page, content_type=HTML_TYPE)
                written = True
            blob = self.storage.get(doc.key)
            if blob is None or blob.etag == etag:
                return written
            value, etag = doc.parse(blob.data), blob.etag
        return written
