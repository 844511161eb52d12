"""Work started on a daemon thread, whose future always completes (poetry_pipper/background.py)."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from poetry_pipper.background import NoThread, run_in_background


def test_the_result_and_the_thread_name() -> None:
    future: Future[str] = Future()
    run_in_background(future, "pipper-test", lambda: threading.current_thread().name)
    assert future.result(timeout=10) == "pipper-test"


def test_an_exception_goes_to_the_future() -> None:
    future: Future[None] = Future()

    def fail() -> None:
        raise ValueError("broken")

    run_in_background(future, "pipper-test", fail)
    assert isinstance(future.exception(timeout=10), ValueError)


def test_no_thread_to_be_had_completes_the_future_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    future: Future[int] = Future()
    run_in_background(future, "pipper-test", lambda: 1)
    error = future.exception(timeout=0)
    assert isinstance(error, NoThread) and "pipper-test" in str(error) and "can't start new thread" in str(error)
