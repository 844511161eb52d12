"""Poetry's PEP 508 grammars, built ahead on a thread (plugin/grammars.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from tests.helpers import ROOT


def test_both_grammars_are_built_once_on_a_thread_of_their_own() -> None:
    """In a fresh process (poetry-core builds each grammar once per process): before, neither is built;
    after build_ahead() and wait(), both are, by one thread named for it, and Poetry's parses use them."""
    script = textwrap.dedent("""
        import threading
        import poetry.core.version.markers as markers
        import poetry.core.version.requirements as requirements
        from poetry_pipper.plugin import grammars

        assert markers._parser._lark is None and requirements._parser._lark is None
        started = []
        real_start = threading.Thread.start
        def start(self):
            started.append(self.name)
            real_start(self)
        threading.Thread.start = start
        grammars.build_ahead()
        grammars.build_ahead()  # once per process
        grammars.wait()
        assert started == ["pipper-grammars"], started
        built = markers._parser._lark, requirements._parser._lark
        assert None not in built
        from poetry.core.packages.dependency import Dependency
        dependency = Dependency.create_from_pep_508('lib>=1 ; python_version >= "3.8"')
        assert str(dependency.constraint) == ">=1" and str(dependency.marker) == 'python_version >= "3.8"'
        assert (markers._parser._lark, requirements._parser._lark) == built  # not built again
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


def test_a_build_that_fails_leaves_the_grammars_to_poetry(monkeypatch: pytest.MonkeyPatch) -> None:
    from poetry.core.packages.dependency import Dependency

    from poetry_pipper.plugin import grammars

    monkeypatch.setattr(grammars, "_BUILD", None)

    def broken(name: str) -> Dependency:
        raise RuntimeError("no grammar")

    monkeypatch.setattr(Dependency, "create_from_pep_508", broken)
    grammars.build_ahead()
    grammars.wait()  # no error: Poetry builds the grammar on first use, and reports what it meets
    build = grammars._BUILD
    assert build is not None and isinstance(build.exception(), RuntimeError)


def test_no_thread_to_be_had_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from poetry_pipper.plugin import grammars

    monkeypatch.setattr(grammars, "_BUILD", None)

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    with monkeypatch.context() as patched:
        patched.setattr(threading.Thread, "start", refuse)
        grammars.build_ahead()
    grammars.wait()  # returns at once
    build = grammars._BUILD
    assert build is not None and isinstance(build.exception(timeout=0), RuntimeError)


def test_waiting_without_a_build_returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from poetry_pipper.plugin import grammars

    monkeypatch.setattr(grammars, "_BUILD", None)
    grammars.wait()
