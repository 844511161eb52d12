"""The benchmark run inside its venv: sections, figures, report (started by ``bench/run.py``)."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from bench import figures as report
from bench.context import Context
from bench.figures import Figures
from bench.servers import Processes, ServerError
from bench.support import SCRATCH, BenchError


def sections() -> dict[str, Callable[[Context], None]]:
    from bench.sections import SECTIONS
    from bench.wan import Wan

    return {"wan": lambda ctx: Wan(ctx)(), **SECTIONS}


def versions() -> str:
    names = ("poetry", "pip", "boto3", "moto")
    return "Python " + sys.version.split()[0] + ", " + ", ".join(
        f"{n} {importlib.metadata.version(n)}" for n in names)


class LoadSampler:
    """The machine's 1-minute load average every few seconds: other jobs on the machine move the figures."""

    def __init__(self) -> None:
        import threading

        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(5):
            self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float]:
        self._stop.set()
        values = self.samples or [os.getloadavg()[0]]
        return {"mean": round(sum(values) / len(values), 2), "max": round(max(values), 2)}


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM: clean up as for Ctrl-C


def main(argv: list[str] | None = None) -> int:
    available = sections()
    parser = argparse.ArgumentParser(prog="bench/run.py", description="Benchmarks of poetry-pipper (docs/benchmarks.md).")
    parser.add_argument("--quick", action="store_true", help="3 repetitions per timed figure instead of 7")
    parser.add_argument("--runs", type=int, help="repetitions per timed figure (overrides --quick)")
    parser.add_argument("--only", nargs="+", choices=list(available), metavar="SECTION",
                        help=f"run only these sections ({', '.join(available)}); other figures are kept from the last run")
    parser.add_argument("--report-only", action="store_true", help="rewrite docs/benchmarks.md from bench/results.json")
    args = parser.parse_args(argv)
    if args.report_only:
        data = report.load()
        report.write_doc(data)
        return 0
    runs = args.runs or (3 if args.quick else 7)
    signal.signal(signal.SIGTERM, _terminate)
    lock = exclusive()
    if lock is None:
        print("error: another benchmark run is using bench/.scratch: wait for it to end", file=sys.stderr)
        return 1
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    figures = Figures()
    procs = Processes(SCRATCH)
    ctx = Context(quick=args.quick, runs=runs, procs=procs, figures=figures)
    start = time.perf_counter()
    load = LoadSampler()
    try:
        ctx.start()
        for name, section in available.items():
            if not args.only or name in args.only:
                began = time.perf_counter()
                section(ctx)
                took = round(time.perf_counter() - began)
                figures.results.setdefault("section_s", {})[name] = took
                print(f"  ({name}: {took} s)", flush=True)
    except (BenchError, ServerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: servers stopped, nothing written", file=sys.stderr)
        return 130
    finally:
        procs.close()
    elapsed = round(time.perf_counter() - start)
    busy = load.summary()
    meta = {"machine": report.machine(), "versions": versions(), "quick": args.quick, "runs": runs,
            "elapsed_s": elapsed, "sections": args.only or list(available), "load": busy, "nice": os.nice(0)}
    cores = os.cpu_count() or 1
    if busy["mean"] > cores:
        figures.notes.append(f"the machine was busy with other work (1-minute load average {busy['mean']} on"
                             f" {cores} cores): timings are stretched, ratios less reliable than on a quiet machine")
        print(f"warning: {figures.notes[-1]}", file=sys.stderr)
    if args.only:
        figures = merged(figures, args.only)
    figures.write(meta)
    print()
    figures.print_lines()
    print(f"bench finished in {elapsed} s; figures in bench/results.json and docs/benchmarks.md")
    return 0


def exclusive() -> IO[bytes] | None:
    """An exclusive lock for the run's lifetime (two runs would share bench/.scratch and the servers' logs)."""
    import fcntl

    SCRATCH.parent.mkdir(parents=True, exist_ok=True)
    handle = open(SCRATCH.parent / ".bench.lock", "wb")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def merged(fresh: Figures, only: list[str]) -> Figures:
    """The last run's figures with those of the sections just run replaced."""
    try:
        old = report.load()
    except (OSError, ValueError):
        return fresh
    combined = Figures()
    for name, f in old.get("figures", {}).items():
        if name not in fresh.figures:
            combined.figures[name] = report.Figure(name, f["value"], f["label"], report.Target.parse(f["target"]),
                                                   f["section"])
    combined.figures.update(fresh.figures)
    combined.results = {**old.get("results", {}), **fresh.results}
    combined.results["section_s"] = {**old.get("results", {}).get("section_s", {}),
                                     **fresh.results.get("section_s", {})}
    combined.results["tables"] = {**old.get("results", {}).get("tables", {}), **fresh.results.get("tables", {})}
    combined.notes = fresh.notes
    return combined
