"""The first GETs of a command that resolves, started as soon as Poetry has chosen the command.

Poetry reads and validates pyproject.toml and builds its pool (about 0.1 s) only after cleo's
COMMAND event, and its solver asks for the first package a little later. For a command that
resolves (running.py decides), :func:`start` reads pyproject.toml itself, at the COMMAND event: the
``s3://``/``file://`` sources and the direct dependencies, and, on a thread, opens each source
with the identity pipper's order gives it (access.py, Poetry's http-basic included) and fetches the
indexes of the dependencies pinned to it -- then, from their closures, every other private index.

The :class:`~poetry_pipper.plugin.source.PipperSource` that Poetry creates afterwards adopts what was
started (:func:`adopt`) only if it resolves the same location and identity from Poetry's final
configuration; otherwise it reads on its own. What is started early is only ever what a resolver
would fetch: a wrong guess costs requests, never correctness.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from poetry.config.config import Config

    from ..access import Access
    from ..prefetch import SourceReader

_LOCK = threading.Lock()
#: (source name, url) -> what start() opened for it: its access and reader.
_STARTED: dict[tuple[str, str], Future[tuple[Access, SourceReader]]] = {}


def start(pyproject: Path) -> None:
    """Start reading the project's pipper sources (called at the COMMAND event of a resolving command)."""
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # Poetry reports it
    from .settings import pipper_sources

    sources = list(pipper_sources(_table(data, "tool", "poetry").get("source")).items())
    if not sources:
        return
    from poetry.config.config import Config

    config = Config.create()  # what Poetry's Factory asks for next (it is made once per process)
    pinned, others = direct_dependencies(data)
    try:
        _import_readers({url.partition("://")[0] for _, url in sources})
    except ImportError:
        return  # the source opens on its own when Poetry asks, and says in one line what is missing
    jobs = []
    with _LOCK:
        for name, url in sources:
            future: Future[tuple[Access, SourceReader]] = Future()
            _STARTED[name, url] = future
            jobs.append((name, url, future))
    from ..background import run_in_background

    for name, url, future in jobs:  # a failure (or no thread to be had): the source opens again when Poetry asks
        run_in_background(future, f"pipper-{name}-early",
                          partial(_open, name, url, config, pinned.get(name.lower(), set()), others))


def _import_readers(schemes: set[str]) -> None:
    """Import, here, the code the threads run. Imports are pure Python: on a thread they take turns
    for the GIL with Poetry's own start-up, which then costs more CPU and more time. Measured on a
    lock of 10 packages on loopback (25 runs each): 5-9 ms less CPU done here; the GETs leave about
    as early (the thread imported most of it before its first GET anyway)."""
    from ..access import resolve_access  # noqa: F401  (what _open and the fetcher use; settings is in already)
    from ..keys import index_key  # noqa: F401
    from ..prefetch import SourceReader  # noqa: F401
    from ..repository import Repository  # noqa: F401

    if "s3" in schemes:
        from ..storage.s3direct import S3DirectStorage  # noqa: F401
    if "file" in schemes:
        from ..storage.local import LocalStorage  # noqa: F401


def _open(name: str, url: str, config: Config, pinned: set[str], others: set[str]) -> tuple[Access, SourceReader]:
    from ..storage import open_storage
    from .settings import source_access

    access = source_access(name, url, config)
    storage = open_storage(access.location, None if access.location.is_local else access.credentials)
    ahead = getattr(storage, "get_ahead", None)
    if ahead is not None:  # the GETs leave before the reader is built (it parses what they bring)
        from ..keys import index_key

        for dependency in sorted(pinned):
            ahead(index_key(dependency))
    from ..prefetch import SourceReader
    from ..repository import Repository

    reader = SourceReader(Repository(storage), name=f"pipper-{name}")
    reader.warm_up(pinned, others)
    return access, reader


def started(name: str, url: str) -> bool:
    """Whether start() is reading this source (so Poetry's own start need not wait for it)."""
    with _LOCK:
        return (name, url) in _STARTED


def adopt(name: str, url: str, access: Access) -> SourceReader | None:
    """What start() opened for this source, if it is the same location and identity."""
    with _LOCK:
        future = _STARTED.pop((name, url), None)
    if future is None:
        return None
    try:
        started, reader = future.result()
    except BaseException:  # opened again by the caller, which reports any error
        return None
    return reader if started == access else None


def direct_dependencies(data: dict[str, Any]) -> tuple[dict[str, set[str]], set[str]]:
    """The project's direct dependencies: names pinned to a source (source name lower-cased -> names),
    and the names not pinned to any. Every group; [project] and [tool.poetry] forms."""
    pinned: dict[str, set[str]] = {}
    free: set[str] = set()
    poetry = _table(data, "tool", "poetry")
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies"),
              *(_table(group, "dependencies") for group in _table(poetry, "group").values() if isinstance(group, dict))]
    for table in tables:
        for name, spec in (table.items() if isinstance(table, dict) else ()):
            if name.lower() == "python":
                continue
            specs = spec if isinstance(spec, list) else [spec]
            where = {s.get("source") for s in specs if isinstance(s, dict) and isinstance(s.get("source"), str)}
            for source in where:
                pinned.setdefault(str(source).lower(), set()).add(canonicalize_name(name))
            if not where:
                free.add(canonicalize_name(name))
    project = _table(data, "project")
    optional = project.get("optional-dependencies")
    groups = data.get("dependency-groups")
    requirements = [*(project.get("dependencies") or []),
                    *(r for rs in (optional.values() if isinstance(optional, dict) else ()) for r in rs or []),
                    *(r for rs in (groups.values() if isinstance(groups, dict) else ()) for r in rs or [])]
    every_pinned = {n for names in pinned.values() for n in names}
    for text in requirements:
        name = _requirement_name(text)
        if name is not None and name not in every_pinned:
            free.add(name)
    return pinned, free


def _requirement_name(text: object) -> str | None:
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(text, str):
        return None  # a {include-group = ...} entry
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None


def _table(data: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}
