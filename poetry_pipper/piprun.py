"""The one pip run of ``pipper install``, started before it is needed.

pip spends about a quarter of a second importing itself before it looks at its arguments. An
install knows which interpreter pip will run in before it resolves anything, so it starts that
interpreter at once (:class:`EarlyPip`): it imports pip while pipper waits for the network, then
reads its arguments from stdin and runs ``pip`` exactly as ``python -m pip`` does
(``runpy.run_module("pip", run_name="__main__", alter_sys=True)``). The warm-up imports are best
effort: if pip's layout changes they are skipped, never the install. A process that is not used
(a dry run, nothing to install, an error) is stopped.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

#: Runs in the target interpreter. Imports pip first, then waits for one line: the JSON list of
#: pip's arguments (an empty line: not needed, exit).
LAUNCHER = """\
import sys
try:
    import pip._internal.cli.main, pip._internal.commands.install  # warm-up only
except Exception:
    pass
line = sys.stdin.readline()
if not line.strip():
    sys.exit(0)
import json, runpy
sys.argv = ["pip", *json.loads(line)]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class PipResult:
    returncode: int
    stdout: str
    stderr: str


def run_pip(python: str, args: list[str], *, verbose: bool) -> PipResult:
    """``python -m pip ARGS``; with ``verbose`` pip talks straight to the terminal."""
    result = subprocess.run([python, "-m", "pip", *args], capture_output=not verbose, text=True, check=False)
    return PipResult(result.returncode, result.stdout or "", result.stderr or "")


class EarlyPip:
    """A pip process started ahead of its arguments (see the module's docstring)."""

    def __init__(self, python: str, *, verbose: bool = False) -> None:
        self.python = python
        self.verbose = verbose
        pipe = None if verbose else subprocess.PIPE
        self._process: subprocess.Popen[str] | None = subprocess.Popen(
            [python, "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=pipe, stderr=pipe, text=True)

    def run(self, args: list[str]) -> PipResult:
        """Hand pip its arguments and wait for it."""
        process, self._process = self._process, None
        if process is None:
            raise RuntimeError("this pip process was already used")
        try:
            stdout, stderr = process.communicate(json.dumps(args) + "\n")
        except BaseException:
            process.kill()
            process.wait()
            raise
        return PipResult(process.returncode, stdout or "", stderr or "")

    def discard(self) -> None:
        """Stop the process if it was not used."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.communicate()
