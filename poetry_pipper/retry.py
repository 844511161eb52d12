"""Retrying a call that failed in a way worth another try: the one retry loop of the core.

botocore retries what it can see (5xx, throttling, connection errors before a reply). What it
cannot see -- a body cut off mid-transfer, a reply lost after the server acted, bytes that fail
their sha256 -- is retried here, a bounded number of times, by every reader and writer alike.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from .errors import PipperError

T = TypeVar("T")


def pause(attempt: int) -> None:
    """A short randomized pause that grows with the attempt (spreads out contending writers)."""
    time.sleep(random.uniform(0.01, 0.05) * min(attempt + 1, 10))


def retry(
    call: Callable[[], T],
    *,
    attempts: int,
    on: tuple[type[BaseException], ...],
    give_up: Callable[[BaseException], PipperError],
    wait: Callable[[int], None] | None = None,
) -> T:
    """``call()``, again (at most ``attempts`` times in all) while it raises one of ``on``.

    The last failure becomes ``give_up(error)``: one line for the user, never the raw exception.
    """
    for attempt in range(attempts):
        try:
            return call()
        except on as exc:
            if attempt + 1 == attempts:
                raise give_up(exc) from None
            if wait is not None:
                wait(attempt)
    raise AssertionError("attempts must be at least 1")
