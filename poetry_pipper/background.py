"""Work started on a daemon thread whose outcome, whatever happens, ends up in a future.

The read path starts work before anyone asks for it (the first GETs, Poetry's grammars); whoever
asks later waits on a future. That future must always complete: with the work's result, with the
exception it raised, or with :class:`NoThread` when no thread could be started (the process is at
its thread limit), so that nobody waits forever for work that never began.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


class NoThread(RuntimeError):
    """No thread could be started: the work was never done (the caller may do it itself)."""


def run_in_background(future: Future[T], name: str, work: Callable[[], T]) -> None:
    """Run ``work`` on a daemon thread named ``name``; its result or exception goes to ``future``."""

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # the one who waits gets it
            future.set_exception(exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    try:
        thread.start()
    except RuntimeError as exc:
        future.set_exception(NoThread(f"no thread for {name}: {exc}"))
