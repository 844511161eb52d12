"""Install planning and execution: resolve the private closure, fetch wheels, run pip once.

Private releases are passed to pip as wheel files, so pip can only take those names from
the files given and never from a public index (no dependency confusion); public
dependencies are resolved by pip from the user's normal configuration.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .bundle import inspect_wheel, meta_for, read_bundle, write_bundle
from .cache import cached_wheel, wheel_dir
from .errors import NotFound, PipperError
from .index import PackageIndex, Release
from .resolve import Resolution, Resolver, select
from .sources import ReleaseSource
from .specs import PackageSpec
from .storage import Progress

WORKERS = 8


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
    repo: ReleaseSource | None,
    specs: list[PackageSpec],
    *,
    pre: bool = False,
    local: dict[str, Release] | None = None,
) -> Resolution:
    extras: dict[str, set[str]] = {s.name: _extras(s) for s in specs}
    return Resolver(repo, pre=pre, fixed=local).resolve(specs, extras)


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
    repo: ReleaseSource | None,
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
        repo.cancel()
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


def download(
    repo: ReleaseSource,
    specs: list[PackageSpec],
    out: Path,
    *,
    pre: bool = False,
    deps: bool = True,
    extract: bool = False,
    progress: Callable[[Release], Progress | None] | None = None,
) -> list[str]:
    """``pipper download``: resolve, fetch (verified, cached) and save bundles -- or wheels and their
    metadata JSON with ``extract`` -- into ``out``. Returns the paths saved."""
    if deps:
        resolution = resolve(repo, specs, pre=pre)
    else:
        chosen: dict[str, Release] = {s.name: select(repo, _require(repo, s.name), s, pre=pre) for s in specs}
        resolution = Resolution(chosen)
    # An empty search path: nothing counts as installed, every wheel is fetched.
    steps = plan(resolution, source=str(repo.location), search_path=[])
    fetch(repo, steps, progress)
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    for step in steps:
        assert step.wheel is not None
        if extract:
            wheel = out / step.release.meta.wheel_name
            tmp = out / f".pipper-tmp-{wheel.name}"
            shutil.copyfile(step.wheel, tmp)
            tmp.replace(wheel)
            meta_path = out / f"{step.release.project}-{step.version}.json"
            meta_path.write_text(json.dumps(step.release.meta.to_json(), indent=2, sort_keys=True) + "\n")
            saved += [str(wheel), str(meta_path)]
        else:
            saved.append(str(write_bundle(step.wheel, step.release.meta, out)))
    return saved


def _require(repo: ReleaseSource, name: str) -> PackageIndex:
    index = repo.package_index(name)
    if index is None:
        raise NotFound(f"package {name!r} not found in {repo.location}: check the name, or publish it first")
    return index


@dataclass(frozen=True)
class Target:
    """Where ``pipper install`` installs: an interpreter, and how pip is told (as pip's own flags)."""

    python: str = sys.executable
    #: Where installed distributions are looked up (None: this interpreter's sys.path).
    search_path: list[str] | None = None
    directory: Path | None = None  # pip --target
    user: bool = False  # pip --user

    def __post_init__(self) -> None:
        if self.directory is not None and self.user:
            raise PipperError("--target and --user cannot be combined (as in pip)")


def split_items(items: list[str]) -> tuple[list[str], list[Path]]:
    """Specs, and the ``.pipper``/``.whl`` files given among them."""
    files = [Path(i) for i in items if i.endswith((".pipper", ".whl"))]
    return [i for i in items if not i.endswith((".pipper", ".whl"))], files


def local_releases(files: list[Path], workdir: Path) -> tuple[dict[str, Release], dict[str, Path]]:
    """The bundles and wheels given on the command line, checked and unpacked, by project name."""
    local: dict[str, Release] = {}
    wheels: dict[str, Path] = {}
    for number, path in enumerate(files):
        directory = workdir / str(number)
        directory.mkdir()
        release, wheel = local_release(path, directory)
        local[release.project] = release
        wheels[release.project] = wheel
    return local, wheels


def needs_repository(names: list[str], local: dict[str, Release]) -> bool:
    """Whether a repository must be read: specs were given, or a local file has dependencies."""
    return bool(names) or any(r.meta.requires_dist or r.meta.dependencies for r in local.values())


def plan_install(
    repo: ReleaseSource | None,
    names: list[str],
    local: dict[str, Release],
    local_wheels: dict[str, Path],
    target: Callable[[], Target],
    *,
    pre: bool = False,
    upgrade: bool = False,
) -> tuple[list[Step], Target]:
    """Resolve the private closure, then decide, per package, install, upgrade or keep.

    ``target`` is asked for only once the resolution succeeded (under Poetry it may create the
    project's virtualenv).
    """
    from .specs import normalize_name, parse_specs

    specs = parse_specs(names)
    specs += [PackageSpec(normalize_name(name), text=str(local_wheels[name])) for name in local]
    resolution = resolve(repo, specs, pre=pre, local=local)
    where = target()
    steps = plan(resolution, source=str(repo.location) if repo else "local", upgrade=upgrade,
                 target=where.directory, local_wheels=local_wheels, search_path=where.search_path)
    return steps, where


def run_install(
    repo: ReleaseSource | None,
    steps: list[Step],
    target: Target,
    *,
    verbose: bool = False,
    progress: Callable[[Release], Progress | None] | None = None,
) -> str | None:
    """Fetch the wheels the plan needs and run pip once; pip's output, or None if nothing was to do."""
    fetch(repo, steps, progress)
    wheels = [s.wheel for s in steps if s.action != "keep" and s.wheel is not None]
    if not wheels:
        return None
    return pip_install(wheels, target=target.directory, user=target.user, verbose=verbose, python=target.python)
