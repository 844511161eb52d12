"""Package indexes fetched once each, in parallel, with the names they hint at fetched next.

Both resolvers read indexes through an :class:`IndexFetcher`: the CLI's (:mod:`.resolve`) and the
Poetry source (``plugin/source.py``). As soon as an index arrives, the indexes its hints and closure
name (:func:`~poetry_pipper.closure.prefetch_names`) are requested too, without waiting for the
resolver to ask: with closures recorded, a resolution costs the first index's round trip and then
one round of parallel GETs, whatever the depth. What is fetched never decides what is chosen.

Still one GET per package: a name is fetched at most once per fetcher, whoever asks first.
A failed fetch raises only where its index is asked for. :class:`SourceReader` adds the root list
(the guard's: which names are published) and the first requests of a resolution.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from packaging.utils import canonicalize_name

from .closure import prefetch_names
from .guard import published_names
from .index import PackageIndex
from .repository import Repository

#: Parallel GETs: a closure's indexes all at once (a second wave on the same connections costs a round
#: trip); the direct reader keeps up to 32 connections open (storage/direct.py).
WORKERS = 16


class IndexFetcher:
    def __init__(self, load: Callable[[str], PackageIndex | None], *, workers: int = WORKERS, name: str = "pipper",
                 follow: bool = True) -> None:
        self._load = load
        self._workers = workers
        self._name = name
        self._follow = follow
        self._lock = threading.Lock()
        self._futures: dict[str, Future[PackageIndex | None]] = {}
        self._executor: ThreadPoolExecutor | None = None

    def want(self, names: Iterable[str]) -> None:
        """Start fetching these indexes (those not asked for yet)."""
        with self._lock:
            for name in names:
                key = canonicalize_name(name)
                future = self._futures.get(key)
                if future is None or future.cancelled():  # cancelled by close(): asked for again
                    self._futures[key] = self._pool().submit(self._fetch, key)

    def get(self, name: str) -> PackageIndex | None:
        """The index (None: not published), fetched now unless it already was; the load's error if it failed."""
        key = canonicalize_name(name)
        self.want([key])
        return self._futures[key].result()

    def peek(self, name: str) -> Future[PackageIndex | None] | None:
        """The fetch of this index if it was started, without starting one."""
        with self._lock:
            return self._futures.get(canonicalize_name(name))

    def found(self) -> set[str]:
        """Names whose index arrived and exists."""
        with self._lock:
            done = [(k, f) for k, f in self._futures.items() if f.done()]
        return {k for k, f in done if f.exception() is None and f.result() is not None}

    def submit(self, action: Callable[[], object]) -> None:
        """Run something else on the fetcher's threads (a follow-up that fetches more)."""
        with self._lock:
            self._pool().submit(action)

    def _fetch(self, key: str) -> PackageIndex | None:
        index = self._load(key)
        if index is not None and self._follow:
            self.want(prefetch_names(index))
        return index

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix=self._name)
        return self._executor

    def close(self) -> None:
        """Drop what has not started (a finished resolution needs nothing more)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


class SourceReader:
    """A repository as a resolver reads it: each index and the root list fetched at most once."""

    def __init__(self, repository: Repository, *, name: str = "pipper") -> None:
        self.repository = repository
        self.fetcher = IndexFetcher(repository.package_index, name=name)
        self._lock = threading.Lock()
        self._published: Future[frozenset[str]] | None = None

    def published(self) -> frozenset[str]:
        """Names published here: the root list, one GET (guard.py)."""
        with self._lock:
            future = self._published
            if future is None:
                future = self._published = Future()
                mine = True
            else:
                mine = False
        if mine:
            try:
                future.set_result(published_names(self.repository))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def warm_up(self, pinned: Iterable[str], others: Iterable[str]) -> None:
        """The first requests of a resolution, before the resolver asks: the indexes of the direct
        dependencies pinned to this repository now, those of the other direct dependencies once the
        root list says they are published here (a guard would take them from here)."""
        self.fetcher.want(pinned)
        rest = {canonicalize_name(n) for n in others}
        if rest:
            self.fetcher.submit(lambda: self.fetcher.want(rest & self.published()))
