"""Install planning and execution: resolve the private closure, fetch wheels, run pip once.

Private releases are passed to pip as wheel files, so pip can only take those names from
the files given and never from a public index (no dependency confusion); public
dependencies are resolved by pip from the user's normal configuration.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .bundle import inspect_wheel, meta_for, read_bundle
from .cache import cached_wheel, wheel_dir
from .errors import PipperError
from .index import PackageIndex, Release
from .resolve import Resolution, Resolver
from .specs import PackageSpec
from .storage import Progress

WORKERS = 8


class Source(Protocol):
    """Where private releases come from: a Repository, or a pre-authorized file (authorize.py)."""

    @property
    def location(self) -> object:
        """Where it is, for messages and plans (``str()`` of it)."""

    def package_index(self, name: str) -> PackageIndex | None: ...

    def fetch(self, release: Release, dest_dir: Path, *, progress: Progress | None = None) -> Path: ...


@dataclass
class Step:
    """One private package in the plan."""

    release: Release
    action: str  # "install", "upgrade", "keep"
    installed: Version | None
    source: str
    wheel: Path | None = None

    @property
    def name(self) -> str:
        return self.release.meta.name

    @property
    def version(self) -> str:
        return self.release.meta.version


def installed_version(name: str, target: Path | None = None, search_path: list[str] | None = None) -> Version | None:
    """The version installed in this interpreter, in ``--target`` DIR, or on another environment's path."""
    wanted = canonicalize_name(name)
    path = [str(target)] if target else search_path
    dists = importlib.metadata.distributions(path=path) if path is not None else importlib.metadata.distributions()
    for dist in dists:
        if canonicalize_name(dist.metadata["Name"] or "") == wanted:
            try:
                return Version(dist.version)
            except InvalidVersion:
                return None
    return None


def local_release(path: Path, workdir: Path) -> tuple[Release, Path]:
    """A ``.pipper`` bundle or a ``.whl`` given on the command line, checked and unpacked."""
    if path.suffix == ".whl":
        if not path.is_file():
            raise PipperError(f"{path}: no such wheel file")
        wheel = inspect_wheel(path)
        return Release(meta_for(wheel), ""), path
    meta, wheel_path = read_bundle(path, workdir)
    return Release(meta, ""), wheel_path


def resolve(
    repo: Source | None,
    specs: list[PackageSpec],
    *,
    pre: bool = False,
    local: dict[str, Release] | None = None,
) -> Resolution:
    def load(name: str):  # type: ignore[no-untyped-def]
        return repo.package_index(name) if repo is not None else None

    extras: dict[str, set[str]] = {s.name: _extras(s) for s in specs}
    where = str(repo.location) if repo is not None else "the repository (none given: pass -b or -r)"
    return Resolver(load, pre=pre, fixed=local, where=where).resolve(specs, extras)


def _extras(spec: PackageSpec) -> set[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return set(Requirement(spec.text).extras) if spec.text and ":" not in spec.text else set()
    except InvalidRequirement:
        return set()


def plan(
    resolution: Resolution,
    *,
    source: str,
    upgrade: bool = False,
    target: Path | None = None,
    local_wheels: dict[str, Path] | None = None,
    search_path: list[str] | None = None,
) -> list[Step]:
    local_wheels = local_wheels or {}
    steps = []
    for release in resolution.ordered():
        name = release.project
        installed = installed_version(name, target, search_path)
        combined = SpecifierSet()
        for constraint in resolution.constraints.get(name, []):
            combined &= constraint.specifier
        satisfied = installed is not None and combined.contains(installed, prereleases=True)
        if installed is not None and installed == release.version:
            action = "keep"
        elif installed is not None and satisfied and name not in local_wheels and (not upgrade or installed >= release.version):
            action = "keep"  # as pip -U: never downgrade what already satisfies the request
        elif installed is None:
            action = "install"
        else:
            action = "upgrade"
        where = str(local_wheels[name]) if name in local_wheels else source
        steps.append(Step(release, action, installed, where, local_wheels.get(name)))
    return steps


def fetch(
    repo: Source | None,
    steps: Iterable[Step],
    progress: Callable[[Release], Progress | None] | None = None,
    *,
    counter: Callable[[Release, bool], None] | None = None,
) -> None:
    """Make sure every step that needs a wheel has one: cache first, else one GET each, in parallel."""
    todo: list[Step] = []
    for step in steps:
        if step.wheel is not None or step.action == "keep":
            continue
        cached = cached_wheel(step.release)
        if counter:
            counter(step.release, cached is not None)
        if cached is not None:
            step.wheel = cached
        else:
            todo.append(step)
    if not todo:
        return
    if repo is None:
        raise PipperError("no repository to download from: pass -b or -r")

    def get(step: Step) -> Path:
        callback = progress(step.release) if progress else None
        return repo.fetch(step.release, wheel_dir(step.release), progress=callback)

    pool = ThreadPoolExecutor(max_workers=min(WORKERS, len(todo)))
    try:
        for step, path in zip(todo, pool.map(get, todo), strict=True):
            step.wheel = path
    except KeyboardInterrupt:
        # Ctrl-C: stop the transfers in the other threads now instead of waiting for them;
        # each removes its temp file, so nothing partial is left in the cache.
        cancel = getattr(repo, "cancel", None)
        if cancel is not None:
            cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def pip_install(
    wheels: list[Path],
    *,
    target: Path | None = None,
    user: bool = False,
    verbose: bool = False,
    extra: Iterable[str] = (),
    python: str = sys.executable,
) -> str:
    """Run one pip process on the private wheels; pip resolves the public dependencies."""
    command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    if target is not None:
        command += ["--target", str(target)]
    if user:
        command.append("--user")
    command += list(extra)
    command += [str(w) for w in wheels]
    # With -v pip talks straight to the terminal; otherwise its output is kept for the summary.
    result = subprocess.run(command, capture_output=not verbose, text=True, check=False)
    output = result.stdout or ""
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stderr or "").splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
        reason = " ".join(errors) if errors else f"exit code {result.returncode}"
        raise PipperError(f"pip failed: {reason}")
    return output
