"""A publisher process for the concurrency tests: ``python -m tests.publish_worker START OUT -- ARGS``.

It imports everything first, then waits for the file START to exist, so that all workers
start publishing at the same moment. Then, for every bundle in ARGS (after the common
options up to ``:::``), it runs the real ``pipper publish`` CLI entry point in this process,
and writes one JSON line per run to OUT: the bundle, the exit code, stdout and stderr.

    python -m tests.publish_worker /tmp/go /tmp/out.jsonl -- -b s3://bucket/p ::: a.pipper b.pipper
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path

import boto3  # noqa: F401 - imported before the start signal

import poetry_pipper.publish  # noqa: F401
from poetry_pipper.cli import main
from poetry_pipper.commands import load


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def worker(start: Path, out: Path, args: list[str]) -> None:
    common, _, bundles = " ".join(args).partition(" ::: ")
    load("publish")
    deadline = time.monotonic() + 120
    while not start.exists():
        if time.monotonic() > deadline:
            raise SystemExit("no start signal")
        time.sleep(0.005)
    with out.open("w") as handle:
        for bundle in bundles.split():
            code, stdout, stderr = run(["--no-ansi", "publish", bundle, *common.split()])
            handle.write(json.dumps({"bundle": bundle, "code": code, "stdout": stdout, "stderr": stderr}) + "\n")
            handle.flush()


if __name__ == "__main__":
    start, out, dashdash, *rest = sys.argv[1:]
    assert dashdash == "--"
    worker(Path(start), Path(out), rest)
