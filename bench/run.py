"""Benchmarks of poetry-pipper, every ratio measured in one run (docs/benchmarks.md).

    python3 bench/run.py [--quick] [--only SECTION ...] [--runs N] [--report-only]

Runs from a clean checkout with any Python 3: it creates its own venv (.cache/bench-venv, with
scripts/bootstrap: this checkout editable with its `poetry` extra, plus moto[server] pinned as in
requirements-test.txt) and re-executes itself there. Everything else it needs (a moto S3 server,
PEP 503 index servers, latency proxies, Poetry projects, venvs) is made under bench/.scratch, on
127.0.0.1 and free ports, and stopped when the run ends, also on errors and Ctrl-C.

Prints ``RATIO name=value target=... (ok|missed)`` per targeted figure and ``FIGURE name=value``
for the others; writes bench/results.json and the generated block of docs/benchmarks.md.

Until it is in the venv this file runs on whatever Python 3 started it (3.6 or later), so it
sticks to old syntax: no annotations that need evaluating, no newer constructs. The benchmark itself is bench/harness.py.
"""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get("PIPPER_BENCH_VENV") or os.path.join(ROOT, ".cache", "bench-venv")
MIN_PYTHON = (3, 11)  # the project's floor for tools (tomllib); the package itself needs >= 3.10


def in_venv() -> bool:
    return os.path.realpath(sys.prefix) == os.path.realpath(VENV)


def base_python() -> str:
    """This interpreter if it is new enough, else the newest python3.X on PATH that is."""
    if sys.version_info[:2] >= MIN_PYTHON:
        return sys.executable
    for minor in range(20, MIN_PYTHON[1] - 1, -1):
        found = shutil.which(f"python3.{minor}")
        if found:
            return found
    sys.exit(f"error: the benchmark needs Python >= 3.{MIN_PYTHON[1]} (none found on PATH): install one")


def moto_requirement() -> str:
    """moto[server] pinned as the tests pin it."""
    with open(os.path.join(ROOT, "requirements-test.txt")) as handle:
        for line in handle:
            line = line.split("#")[0].strip()
            if line.lower().startswith("moto"):
                return line
    return "moto[server]"


def ensure_venv() -> None:
    """Create or refresh the benchmark venv, then continue inside it."""
    if in_venv():
        return
    if os.environ.get("PIPPER_BENCH_REEXEC"):
        sys.exit(f"error: re-executed into {VENV} but still not running there")
    print(f"== benchmark venv {VENV} (scripts/bootstrap: installs only what changed)", flush=True)
    env = dict(os.environ, PYTHON=base_python())
    env.pop("VIRTUAL_ENV", None)
    command = [os.path.join(ROOT, "scripts", "bootstrap"), VENV, "-e", ROOT + "[poetry]", moto_requirement()]
    if subprocess.call(command, env=env) != 0:
        sys.exit("error: could not create the benchmark venv with scripts/bootstrap (see pip's message above)")
    python = os.path.join(VENV, "bin", "python")
    os.environ["PIPPER_BENCH_REEXEC"] = "1"
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def main() -> int:
    ensure_venv()
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [ROOT] + [p for p in sys.path if os.path.realpath(p or ".") != here]
    from bench.harness import main as run_benchmarks

    return run_benchmarks()


if __name__ == "__main__":
    sys.exit(main())
