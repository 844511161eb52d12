"""Install planning and execution: resolve the private closure, fetch its files, run pip once.

Private releases are passed to pip as files (the wheel chosen for the interpreter pip installs
into, else the sdist, which pip builds), so pip can only take those names from the files given
and never from a public index (no dependency confusion); public dependencies are resolved by pip
from the user's normal configuration.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .bundle import BundleMeta, inspect_wheel, write_bundle
from .cache import cached_file, entry_dir
from .errors import NotFound, PipperError
from .index import SDIST, DistFile, PackageIndex, Release
from .piprun import EarlyPip, run_pip
from .resolve import Pick, Resolution, Resolver, allowed, select
from .sources import ReleaseSource
from .specs import PackageSpec
from .storage.base import Progress
from .targets import Target
from .truth import check_against_wheel
from .uploads import read_upload

WORKERS = 16  # parallel downloads, on the connections resolving opened (prefetch.WORKERS)


@dataclass
class Step:
    """One private package in the plan, and the file of it to install."""

    pick: Pick
    action: str  # "install", "upgrade", "keep"
    installed: Version | None
    source: str
    path: Path | None = None  # the file, once fetched (or given on the command line)

    @property
    def name(self) -> str:
        return self.pick.name

    @property
    def version(self) -> str:
        return self.pick.version

    @property
    def dist(self) -> DistFile:
        return self.pick.dist


def installed_version(name: str, target: Path | None = None, search_path: list[str] | None = None) -> Version | None:
    """The version installed in this interpreter, in ``--target`` DIR, or on another environment's path."""
    wanted = canonicalize_name(name)
    path = [str(target)] if target else search_path
    # Looked up by name (the finder matches .dist-info folder names, as importlib.metadata.version does):
    # reading every installed distribution's METADATA for each package cost ~10 ms per package.
    if path is not None:
        dists = importlib.metadata.distributions(name=wanted, path=path)
    else:
        dists = importlib.metadata.distributions(name=wanted)
    for dist in dists:
        if canonicalize_name(dist.metadata["Name"] or "") == wanted:
            try:
                return Version(dist.version)
            except InvalidVersion:
                return None
    return None


def resolve(
    repo: ReleaseSource | None,
    specs: list[PackageSpec],
    target: Target,
    *,
    pre: bool = False,
    allow_sdist: bool = True,
    local: dict[str, Pick] | None = None,
) -> Resolution:
    return Resolver(repo, target, pre=pre, allow_sdist=allow_sdist, fixed=local).resolve(specs)


def plan(
    resolution: Resolution,
    *,
    source: str,
    upgrade: bool = False,
    target: Path | None = None,
    local_files: dict[str, Path] | None = None,
    search_path: list[str] | None = None,
) -> list[Step]:
    local_files = local_files or {}
    steps = []
    for pick in resolution.ordered():
        name = pick.project
        installed = installed_version(name, target, search_path)
        version = Version(pick.version)
        satisfied = installed is not None and bool(
            allowed([c.specifier for c in resolution.constraints.get(name, [])], [installed], prereleases=True))
        if installed is not None and installed == version:
            action = "keep"
        elif installed is not None and satisfied and name not in local_files and (not upgrade or installed >= version):
            action = "keep"  # as pip -U: never downgrade what already satisfies the request
        elif installed is None:
            action = "install"
        else:
            action = "upgrade"
        where = str(local_files[name]) if name in local_files else source
        steps.append(Step(pick, action, installed, where, local_files.get(name)))
    return steps


def fetch(
    repo: ReleaseSource | None,
    steps: Iterable[Step],
    progress: Callable[[DistFile], Progress | None] | None = None,
    *,
    counter: Callable[[DistFile, bool], None] | None = None,
) -> None:
    """Make sure every step that needs a file has one: cache first, else one GET each, in parallel."""
    todo: list[Step] = []
    for step in steps:
        if step.path is not None or step.action == "keep":
            continue
        cached = cached_file(step.dist)
        if counter:
            counter(step.dist, cached is not None)
        if cached is not None:
            step.path = cached
        else:
            todo.append(step)
    if not todo:
        return
    if repo is None:
        raise PipperError("no repository to download from: pass -b or -r")

    def get(step: Step) -> Path:
        callback = progress(step.dist) if progress else None
        return repo.fetch(step.dist, entry_dir(step.dist), progress=callback)

    pool = ThreadPoolExecutor(max_workers=min(WORKERS, len(todo)))
    try:
        for step, path in zip(todo, pool.map(get, todo), strict=True):
            step.path = path
    except KeyboardInterrupt:
        # Ctrl-C: stop the transfers in the other threads now instead of waiting for them;
        # each removes its temp file, so nothing partial is left in the cache.
        repo.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def pip_install(
    files: list[Path],
    *,
    target: Path | None = None,
    user: bool = False,
    verbose: bool = False,
    extra: Iterable[str] = (),
    python: str = sys.executable,
    early: EarlyPip | None = None,
) -> str:
    """Run one pip process on the private files; pip resolves the public dependencies.

    ``early`` is a pip process already started in ``python`` (piprun.py): it is given the arguments.
    """
    command = ["install", "--disable-pip-version-check", "--no-input"]
    if target is not None:
        command += ["--target", str(target)]
    if user:
        command.append("--user")
    command += list(extra)
    command += [str(f) for f in files]
    # With -v pip talks straight to the terminal; otherwise its output is kept for the summary.
    if early is not None and early.python == python and early.verbose == verbose:
        result = early.run(command)
    else:
        result = run_pip(python, command, verbose=verbose)
    output = result.stdout
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
        reason = " ".join(errors) if errors else f"exit code {result.returncode}"
        raise PipperError(f"pip failed: {reason}")
    return output


def download(
    repo: ReleaseSource,
    specs: list[PackageSpec],
    out: Path,
    target: Target,
    *,
    pre: bool = False,
    deps: bool = True,
    extract: bool = False,
    allow_sdist: bool = True,
    progress: Callable[[DistFile], Progress | None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[str]:
    """``pipper download``: resolve for ``target``, fetch (verified, cached) and save into ``out``:
    a bundle per wheel (or, with ``extract``, the wheel and its metadata JSON), sdists as they are.
    Returns the paths saved; ``warn`` is told of each dependency left out (dependencies.url_warning)."""
    check_destination(out)  # before anything is downloaded
    if deps:
        resolution = resolve(repo, specs, target, pre=pre, allow_sdist=allow_sdist)
    else:
        picks: dict[str, Pick] = {s.name: select(repo, _require(repo, s.name), s, target, pre=pre, allow_sdist=allow_sdist)
                 for s in specs if target.evaluate(s.marker)}
        resolution = Resolution(picks)
    for line in resolution.warnings:
        if warn is not None:
            warn(line)
    # An empty search path: nothing counts as installed, every file is fetched.
    steps = plan(resolution, source=str(repo.location), search_path=[])
    fetch(repo, steps, progress)
    check_against_wheels(steps)
    check_destination(out, create=True)
    saved: list[str] = []
    for step in steps:
        assert step.path is not None
        try:
            saved += _save(step, out, extract)
        except OSError as exc:
            done = f" (saved before it: {', '.join(saved)})" if saved else ""
            raise PipperError(f"cannot save {step.dist.filename} into {out}: {exc.strerror}{done}") from None
    return saved


def check_against_wheels(steps: Iterable[Step]) -> None:
    """Each fetched wheel's own METADATA against the index entry it was resolved with (truth.py)."""
    for step in steps:
        if step.path is not None and step.action != "keep":
            check_against_wheel(step.dist, step.path)


def check_destination(out: Path, *, create: bool = False) -> None:
    """``-d``: a directory, or one that can be made (a file on its path is refused); made with ``create``.

    Checked before anything is downloaded, and made only once the files are there to be saved.
    """
    if out.exists() and not out.is_dir():
        raise PipperError(f"{out} is a file, not a directory: pass -d with a directory to save into")
    existing = next((p for p in out.absolute().parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise PipperError(f"cannot use {out} as the -d directory: {existing} is a file")
    if create:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PipperError(f"cannot use {out} as the -d directory: {exc.strerror}") from None


def _save(step: Step, out: Path, extract: bool) -> list[str]:
    """The file, under its validated name (schema.file_kind: no separator, no markup) in ``out``."""
    dist = step.dist
    if dist.kind == SDIST or extract:
        target = out / _plain(dist.filename)
        tmp = out / f".pipper-tmp-{dist.filename}"
        assert step.path is not None
        try:
            shutil.copyfile(step.path, tmp)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        if dist.kind == SDIST:
            return [str(target)]
        meta_path = out / _plain(f"{dist.project}-{dist.version}.json")
        meta_path.write_text(json.dumps(bundle_meta(dist, target).to_json(), indent=2, sort_keys=True) + "\n")
        return [str(target), str(meta_path)]
    assert step.path is not None
    return [str(write_bundle(step.path, bundle_meta(dist, step.path), out))]


def _plain(filename: str) -> str:
    """A file name made from bucket text, checked once more where a path is built from it."""
    if not filename or "/" in filename or "\\" in filename or filename.startswith(".") or "\x00" in filename:
        raise PipperError(f"{filename[:100]!r} is not a file name; run `pipper verify` on the repository")
    return filename


def bundle_meta(dist: DistFile, wheel: Path) -> BundleMeta:
    """The ``package.meta`` of a bundle holding this (verified) wheel: what ``pipper bundle`` wrote."""
    built = inspect_wheel(wheel, sha256=dist.sha256).built
    return BundleMeta(dist.name, dist.version, dist.filename, dist.sha256, dist.size,
                      requires_dist=list(dist.requires_dist), requires_python=dist.requires_python,
                      summary=dist.summary, dependencies=list(dist.dependencies), timestamp=built)


def _require(repo: ReleaseSource, name: str) -> PackageIndex:
    index = repo.package_index(name)
    if index is None:
        raise NotFound(f"package {name!r} not found in {repo.location}: check the name, or publish it first")
    return index


@dataclass(frozen=True)
class Destination:
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
    """Specs, and the ``.pipper``/``.whl``/sdist files given among them."""
    suffixes = (".pipper", ".whl", ".tar.gz")
    files = [Path(i) for i in items if i.endswith(suffixes)]
    return [i for i in items if not i.endswith(suffixes)], files


def local_picks(files: list[Path], workdir: Path) -> tuple[dict[str, Pick], dict[str, Path]]:
    """The files given on the command line, checked (and unpacked), by project name."""
    local: dict[str, Pick] = {}
    paths: dict[str, Path] = {}
    for number, path in enumerate(files):
        directory = workdir / str(number)
        directory.mkdir()
        upload = read_upload(path, directory)
        local[upload.dist.project] = Pick(Release.of(upload.dist), upload.dist)
        paths[upload.dist.project] = upload.path
    return local, paths


def needs_repository(names: list[str], local: dict[str, Pick]) -> bool:
    """Whether a repository must be read: specs were given, or a local file has dependencies."""
    return bool(names) or any(p.dist.requires_dist or p.dist.dependencies for p in local.values())


def plan_install(
    repo: ReleaseSource | None,
    names: list[str],
    local: dict[str, Pick],
    local_files: dict[str, Path],
    destination: Callable[[], Destination],
    *,
    pre: bool = False,
    upgrade: bool = False,
    allow_sdist: bool = True,
) -> tuple[list[Step], Destination, Resolution]:
    """Resolve the private closure for this interpreter, then decide, per package, install, upgrade or keep.

    ``destination`` is asked for only once the resolution succeeded (under Poetry it may create
    the project's virtualenv).
    """
    from .specs import normalize_name, parse_specs

    specs = parse_specs(names)
    specs += [PackageSpec(normalize_name(name), text=str(local_files[name])) for name in local]
    chosen: list[Destination] = []

    def target() -> Target:
        chosen.append(destination())
        python = chosen[0].python
        return Target.current() if python == sys.executable else Target.of_interpreter(python)

    resolution = Resolver(repo, target, pre=pre, allow_sdist=allow_sdist, fixed=local).resolve(specs)
    where = chosen[0] if chosen else destination()
    steps = plan(resolution, source=str(repo.location) if repo else "local", upgrade=upgrade,
                 target=where.directory, local_files=local_files, search_path=where.search_path)
    return steps, where, resolution


def run_install(
    repo: ReleaseSource | None,
    steps: list[Step],
    destination: Destination,
    *,
    verbose: bool = False,
    progress: Callable[[DistFile], Progress | None] | None = None,
    early: EarlyPip | None = None,
) -> str | None:
    """Fetch the files the plan needs, check each wheel's METADATA against the index, and run pip once;
    pip's output, or None if nothing was to do."""
    fetch(repo, steps, progress)
    check_against_wheels(steps)
    paths = [s.path for s in steps if s.action != "keep" and s.path is not None]
    if not paths:
        return None
    return pip_install(paths, target=destination.directory, user=destination.user, verbose=verbose,
                       python=destination.python, early=early)
