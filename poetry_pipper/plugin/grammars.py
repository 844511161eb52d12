"""Poetry's PEP 508 grammars, built on a thread while Poetry waits for the project's interpreter.

poetry-core parses requirements and markers with two Lark grammars, each built on its first use on
the main thread: the solver's first step parses a marker (the root package's python constraint),
the first release read parses a requirement (``PackageInfo.to_package``). Building them is pure
CPU, 10-15 ms each on these machines, and every resolving command pays it on its critical path.

Right after it activates its plugins, Poetry runs the project's interpreter twice (EnvManager,
then the installer's query of ``sys.path``): 35-45 ms measured, with the GIL released. Started
then (:func:`build_ahead`, called by ``install_sources``), the grammars are built in that time
for free. Nothing is changed in Poetry: this is the same public call Poetry makes, a little
earlier. If Poetry asks first, it builds its own (the CPU is spent once more, never a result).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

_LOCK = threading.Lock()
_BUILD: Future[None] | None = None  # the one build of this process, once started


def build_ahead() -> None:
    """Build both grammars on a thread (once per process)."""
    global _BUILD
    with _LOCK:
        if _BUILD is not None:
            return
        future: Future[None] = Future()
        _BUILD = future
    from ..background import run_in_background

    # a failure (or no thread to be had) changes nothing: Poetry builds them on first use, as it would have
    run_in_background(future, "pipper-grammars", _build)


def _build() -> None:
    from poetry.core.packages.dependency import Dependency
    from poetry.core.version.markers import parse_marker

    parse_marker('python_version >= "3"')  # the solver's first step needs this one first
    Dependency.create_from_pep_508("pipper")


def wait() -> None:
    """Before the plugin parses a requirement: a grammar being built is waited for, not built twice."""
    future = _BUILD
    if future is not None:
        future.exception()  # waits; a failed build changes nothing (Poetry builds it on first use)
