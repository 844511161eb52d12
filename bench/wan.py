"""Issue 18: resolution and install at WAN latency, the s3 source against a PEP 503 index.

The same wheels are published once to a local-directory repository with ``pipper publish`` (its
``simple/`` tree carries PEP 658 ``.metadata`` files) and copied object by object into a moto
bucket. The directory is served over HTTP (keep-alive) as the PEP 503 baseline; the bucket is
the s3 source. Each server sits behind its own :class:`bench.latency.LatencyProxy`, so both
sides pay the same latency per round trip (and per new connection). Two shapes, 3 versions
each: a 10-deep chain (chain-0 -> chain-1 -> ... -> chain-9) and a 10-wide fan-out
(fan-root -> fan-leaf-0..9). Every timed run gets a cold cache and is checked: the lock file
(or the venv) must hold exactly the shape's packages at 1.2.0, from the expected source.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.context import POETRY, Context, locked, poetry_project
from bench.latency import LatencyProxy
from bench.servers import AccessLog
from bench.support import BenchError, counted, installed, median, mirror, publish, run

LATENCY = 0.015
ROUND_TRIP = 2 * LATENCY
VERSIONS = ("1.0.0", "1.1.0", "1.2.0")
BUCKET = "s3://bench-wan/pipper"
SIDES = ("s3", "pep503")
SECTION = "Issue 18: s3 source vs PEP 503 index at 15 ms one-way latency"


@dataclass(frozen=True)
class Shape:
    name: str
    root: str
    requires: dict[str, list[str]]  # package -> its private requirements (the same for every version)

    def publish_order(self) -> list[str]:
        """Dependencies before dependents."""
        done: list[str] = []
        while len(done) < len(self.requires):
            done += [n for n, reqs in self.requires.items()
                     if n not in done and all(r.split(">")[0] in done for r in reqs)]
        return done


def shapes() -> list[Shape]:
    chain = {f"chain-{i}": [f"chain-{i + 1}>=1.0"] if i < 9 else [] for i in range(10)}
    leaves: dict[str, list[str]] = {f"fan-leaf-{i}": [] for i in range(10)}
    fanout = {"fan-root": [f"{leaf}>=1.0" for leaf in leaves], **leaves}
    return [Shape("chain", "chain-0", chain), Shape("fanout", "fan-root", fanout)]


class Wan:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.shapes = shapes()
        self.proxies: dict[str, LatencyProxy] = {}
        self.logs: dict[str, AccessLog] = {}
        self.projects: dict[tuple[str, str], Path] = {}
        self.runs: dict[str, list[dict[str, Any]]] = {}

    # -- set-up ------------------------------------------------------------------------------

    def setup(self) -> None:
        from tests.helpers import make_wheel

        ctx = self.ctx
        repo = ctx.scratch / "wan-repo"
        wheels = []
        for shape in self.shapes:
            for name in shape.publish_order():
                for version in VERSIONS:
                    wheels.append(make_wheel(ctx.scratch / "wheels" / f"{name}-{version}", name, version,
                                             requires=shape.requires[name]))
        publish(wheels, str(repo))
        mirror(repo, ctx.s3.url, BUCKET)
        index = ctx.procs.static(repo, "pep503")
        assert ctx.public is not None
        self.logs = {"s3": ctx.s3.log, "pep503": index.log, "public": ctx.public.log}
        front = ctx.procs.front(ctx.s3)  # moto closes every connection; S3 does not
        self.proxies = {"s3": ctx.procs.proxy(front.url, 0.0), "pep503": ctx.procs.proxy(index.url, 0.0),
                        "public": ctx.procs.proxy(ctx.public.url, 0.0)}
        public = ("public", f"{self.proxies['public'].url}/simple/", "primary")
        for shape in self.shapes:
            dependency = {shape.root: '{version = "*", source = "private"}'}
            # The s3 source is explicit (private names are pinned to it); a public primary source stands in
            # for PyPI. The PEP 503 index is the project's only source: its best case (no second index to ask).
            self.projects[shape.name, "s3"] = poetry_project(
                ctx.scratch / "projects" / f"{shape.name}-s3", [public, ("private", BUCKET, "explicit")], dependency)
            self.projects[shape.name, "pep503"] = poetry_project(
                ctx.scratch / "projects" / f"{shape.name}-pep503",
                [("private", f"{self.proxies['pep503'].url}/simple/", "primary")], dependency)

    def latency(self, seconds: float) -> None:
        for proxy in self.proxies.values():
            proxy.latency = seconds

    def measure(self, action: Callable[[], float]) -> dict[str, Any]:
        before = {k: p.connections for k, p in self.proxies.items()}
        elapsed, requests = counted(self.logs, action)
        return {"s": round(elapsed, 4), "requests": requests,
                "connections": {k: p.connections - before[k] for k, p in self.proxies.items()}}

    # -- poetry lock -------------------------------------------------------------------------

    def lock(self, shape: Shape, side: str) -> dict[str, Any]:
        project = self.projects[shape.name, side]
        (project / "poetry.lock").unlink(missing_ok=True)
        env = self.ctx.poetry_env(self.proxies["s3"].url)
        result = self.measure(partial(run, [POETRY, "lock", "--no-interaction"], env, project))
        got = locked(project)
        want = {name: VERSIONS[-1] for name in shape.requires}
        if {n: v for n, (v, _) in got.items()} != want or not all(
                url.startswith("s3://" if side == "s3" else "http://") for _, url in got.values()):
            raise BenchError(f"{side} lock of {shape.name} resolved {got}, expected {want} from the {side} side")
        return result

    def locks(self) -> None:
        print("== issue 18: poetry lock, s3 source vs PEP 503 index, at 15 ms and 0 ms", flush=True)
        self.latency(0.0)
        for shape in self.shapes:  # untimed: creates the projects' venvs, checks both sides resolve
            for side in SIDES:
                self.lock(shape, side)
        # Runs compared with each other run next to each other (the machine's load drifts), in turns
        # starting with one side, then the other.
        for attempt in range(self.ctx.runs):
            for shape in self.shapes:
                for side in SIDES if attempt % 2 == 0 else reversed(SIDES):
                    for latency in (LATENCY, 0.0) if attempt % 2 == 0 else (0.0, LATENCY):
                        self.latency(latency)
                        key = f"lock/{shape.name}/{side}/{latency * 1000:g}ms"
                        self.runs.setdefault(key, []).append(self.lock(shape, side))
        self.lock_figures()

    def lock_figures(self) -> None:
        figures = self.ctx.figures
        rows: list[list[Any]] = []
        for shape in self.shapes:
            t = {(side, ms): median(r["s"] for r in self.runs[f"lock/{shape.name}/{side}/{ms}ms"])
                 for side in SIDES for ms in (15, 0)}
            n = shape.name
            print(f"  {n}: s3 {t['s3', 15]:.3f}s vs PEP 503 {t['pep503', 15]:.3f}s at 15 ms;"
                  f" {t['s3', 0]:.3f}s vs {t['pep503', 0]:.3f}s at 0 ms", flush=True)
            figures.add(SECTION, f"lock_s3_vs_pep503_15ms_{n}", t["s3", 15] / t["pep503", 15],
                        f"`poetry lock` time, s3 / PEP 503, {n}, 15 ms", "<=0.5")
            figures.add(SECTION, f"lock_latency_round_trips_{n}", self.latency_cost(n, "s3") / ROUND_TRIP,
                        f"`poetry lock` s3, (time at 15 ms - at 0 ms) / 30 ms, {n}", "<=4")
            figures.add(SECTION, f"lock_s3_vs_pep503_0ms_{n}", t["s3", 0] / t["pep503", 0],
                        f"`poetry lock` time, s3 / PEP 503, {n}, loopback", "<=1.0")
            s3_requests = max(r["requests"]["s3"] for ms in (15, 0) for r in self.runs[f"lock/{n}/s3/{ms}ms"])
            figures.add(SECTION, f"lock_requests_per_private_package_{n}", s3_requests / len(shape.requires),
                        f"`poetry lock` S3 requests per private package, {n} ({len(shape.requires)} packages)", "<=1")
            figures.add(SECTION, f"lock_latency_round_trips_pep503_{n}", self.latency_cost(n, "pep503") / ROUND_TRIP,
                        f"`poetry lock` PEP 503, (time at 15 ms - at 0 ms) / 30 ms, {n}")
            last = {side: self.runs[f"lock/{n}/{side}/15ms"][-1] for side in SIDES}
            rows.append([n, len(shape.requires), *(t[side, ms] for ms in (15, 0) for side in SIDES),
                         *(last[side]["requests"][side] for side in SIDES),
                         *(last[side]["connections"][side] for side in SIDES)])
        figures.table(SECTION, "`poetry lock`, cold cache (median seconds; requests and connections of one run)",
                      ["shape", "private packages", "s3 15 ms", "PEP 503 15 ms", "s3 0 ms", "PEP 503 0 ms",
                       "S3 requests", "PEP 503 requests", "S3 connections", "PEP 503 connections"], rows)

    def latency_cost(self, shape: str, side: str) -> float:
        """Median over the repetitions of (lock time at 15 ms - lock time at 0 ms) within each repetition:
        the two runs are back to back and share the machine's load, so pairing cancels most of its drift."""
        pairs = zip(self.runs[f"lock/{shape}/{side}/15ms"], self.runs[f"lock/{shape}/{side}/0ms"], strict=True)
        return median(slow["s"] - fast["s"] for slow, fast in pairs)

    # -- pipper install vs pip ---------------------------------------------------------------

    def install(self, shape: Shape, tool: str) -> dict[str, Any]:
        ctx = self.ctx
        if tool == "pipper":
            venv = ctx.venv("pipper")
            env = ctx.pipper_env(self.proxies["s3"].url, f"{self.proxies['public'].url}/simple/")
            command = [str(venv / "bin" / "python"), "-m", "poetry_pipper", "install", shape.root, "-b", BUCKET]
        else:
            venv = ctx.venv("pip")
            env = ctx.env
            command = [str(venv / "bin" / "python"), "-m", "pip", "install", "--index-url",
                       f"{self.proxies['pep503'].url}/simple/", shape.root]
        result = self.measure(partial(run, command, env))
        got = installed(venv)
        if got != {name: VERSIONS[-1] for name in shape.requires}:
            raise BenchError(f"{tool} install of {shape.root} left {got} in the venv")
        shutil.rmtree(venv.parent, ignore_errors=True)
        return result

    def installs(self) -> None:
        print("== issue 18: pipper install vs pip install from the PEP 503 index, at 15 ms", flush=True)
        tools = ("pipper", "pip")
        self.latency(0.0)
        for shape in self.shapes:  # untimed: byte-compiles the shared pip and pipper directories
            for tool in tools:
                self.install(shape, tool)
        self.latency(LATENCY)
        for attempt in range(self.ctx.runs):
            for shape in self.shapes:
                for tool in tools if attempt % 2 == 0 else reversed(tools):
                    self.runs.setdefault(f"install/{shape.name}/{tool}", []).append(self.install(shape, tool))
        rows: list[list[Any]] = []
        for shape in self.shapes:
            t = {tool: median(r["s"] for r in self.runs[f"install/{shape.name}/{tool}"]) for tool in tools}
            print(f"  {shape.name}: pipper {t['pipper']:.3f}s vs pip {t['pip']:.3f}s", flush=True)
            self.ctx.figures.add(SECTION, f"install_pipper_vs_pip_15ms_{shape.name}", t["pipper"] / t["pip"],
                                 f"`pipper install` / `pip install` from the PEP 503 index, {shape.name}, 15 ms", "<=0.5")
            last = {tool: self.runs[f"install/{shape.name}/{tool}"][-1] for tool in tools}
            rows.append([shape.name, t["pipper"], t["pip"], last["pipper"]["requests"]["s3"],
                         last["pip"]["requests"]["pep503"], last["pipper"]["connections"]["s3"],
                         last["pip"]["connections"]["pep503"]])
        self.ctx.figures.table(
            SECTION, "`pipper install` vs `pip install`, fresh venv, cold caches, 15 ms (median seconds; one run's counts)",
            ["shape", "pipper", "pip", "pipper S3 requests", "pip index requests", "pipper S3 connections",
             "pip index connections"], rows)

    # -- poetry install with a warm artifact cache -------------------------------------------

    def poetry_installs(self) -> None:
        print("== issue 18: poetry install into a fresh venv, cold then warm artifact cache, at 15 ms", flush=True)
        self.latency(LATENCY)
        rows: list[list[Any]] = []
        for shape in self.shapes:
            project = self.ctx.unique(f"install-{shape.name}")
            for name in ("pyproject.toml", "poetry.lock"):
                shutil.copy(self.projects[shape.name, "s3"] / name, project / name)
            env = self.ctx.poetry_env(self.proxies["s3"].url)
            cold = self.measure(partial(run, [POETRY, "install", "--no-interaction"], env, project))
            shutil.rmtree(project / ".venv")
            warm = self.measure(partial(run, [POETRY, "install", "--no-interaction"], env, project))
            got = installed(project / ".venv")
            if {name: got.get(name) for name in shape.requires} != {name: VERSIONS[-1] for name in shape.requires}:
                raise BenchError(f"poetry install of {shape.name} did not install the locked packages")
            self.runs[f"poetry-install/{shape.name}"] = [{"cold": cold, "warm": warm}]
            print(f"  {shape.name}: cold {cold['s']:.3f}s, {cold['requests']['s3']} S3 requests;"
                  f" warm {warm['s']:.3f}s, {warm['requests']['s3']} S3 requests", flush=True)
            self.ctx.figures.add(SECTION, f"poetry_install_warm_requests_{shape.name}", warm["requests"]["s3"],
                                 f"`poetry install` into a fresh venv, warm artifact cache: S3 requests, {shape.name}", "=0")
            rows.append([shape.name, cold["s"], cold["requests"]["s3"], warm["s"], warm["requests"]["s3"]])
        self.ctx.figures.table(SECTION, "`poetry install` from the lock into a fresh venv, 15 ms (one run)",
                               ["shape", "cold cache s", "cold S3 requests", "warm cache s", "warm S3 requests"], rows)

    def __call__(self) -> None:
        self.setup()
        self.locks()
        self.installs()
        self.poetry_installs()
        self.ctx.figures.results["wan_runs"] = self.runs
