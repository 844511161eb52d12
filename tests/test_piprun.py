"""The pip process `pipper install` starts before it needs it (poetry_pipper/piprun.py)."""

from __future__ import annotations

import sys

import pytest

from poetry_pipper.piprun import EarlyPip, run_pip


def test_an_early_pip_runs_what_python_m_pip_runs() -> None:
    early = EarlyPip(sys.executable)
    result = early.run(["--version"])
    assert result.returncode == 0
    assert result.stdout == run_pip(sys.executable, ["--version"], verbose=False).stdout
    with pytest.raises(RuntimeError):
        early.run(["--version"])
    early.discard()  # nothing left to stop


def test_an_early_pip_reports_pip_s_failure() -> None:
    result = EarlyPip(sys.executable).run(["install", "--no-index", "no-such-package-anywhere"])
    assert result.returncode != 0 and "no-such-package-anywhere" in result.stderr


def test_an_unused_early_pip_is_stopped() -> None:
    early = EarlyPip(sys.executable)
    process = early._process
    early.discard()
    assert process is not None and process.poll() is not None
