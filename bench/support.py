"""What the benchmarks measure with: commands run and timed, hermetic environments, packages, venvs."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.servers import AccessLog

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SCRATCH = ROOT / "bench" / ".scratch"
# Every command runs here: `python -m` puts the working directory first on sys.path, so started from
# another checkout a command would import that checkout's poetry_pipper instead of this one's.
NEUTRAL_CWD = SCRATCH / "cwd"


class BenchError(RuntimeError):
    """A benchmark step failed: the run stops and says which."""


# -- running and timing commands -----------------------------------------------------------


def run(command: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 600) -> float:
    """Run a command to completion; its wall time in seconds. A failure stops the benchmark."""
    NEUTRAL_CWD.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, env=env, cwd=cwd or NEUTRAL_CWD, capture_output=True, text=True, check=False,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"benchmark step still running after {timeout:.0f} s: {' '.join(command)}") from None
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise BenchError(f"benchmark step failed (exit {proc.returncode}): {' '.join(command)}\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def median(values: Iterable[float]) -> float:
    return round(statistics.median(list(values)), 4)


def counted(logs: dict[str, AccessLog], action: Callable[[], float]) -> tuple[float, dict[str, int]]:
    """Run ``action`` and count the requests each server logged meanwhile."""
    for log in logs.values():
        log.mark()
    elapsed = action()
    return elapsed, {name: len(log.since_mark()) for name, log in logs.items()}


def methods(log: AccessLog, action: Callable[[], float]) -> tuple[float, Counter[str]]:
    log.mark()
    elapsed = action()
    return elapsed, Counter(method for method, _, _ in log.since_mark())


def hermetic_env(scratch: Path) -> dict[str, str]:
    """Child processes see no user config, no real AWS identity, no pip config, no active venv."""
    drop = ("AWS_", "PIP_", "POETRY_", "PIPPER_", "VIRTUAL_ENV", "CONDA_", "PYTHONPATH", "PYTHONHOME", "UV_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PIP_NO_CACHE_DIR": "1",
        "POETRY_CONFIG_DIR": str(scratch / "poetry-config"), "POETRY_KEYRING_ENABLED": "false",
        "POETRY_VIRTUALENVS_IN_PROJECT": "true", "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "NO_COLOR": "1",
    })
    return env


# -- packages ------------------------------------------------------------------------------


def publish(wheels: Iterable[Path], repository: str, env: dict[str, str] | None = None) -> None:
    """``pipper publish FILE -b REPOSITORY`` for each wheel or bundle, through the CLI entry point but
    in-process (hundreds of publishes would otherwise pay the CLI's start-up each), in ``env``."""
    from poetry_pipper.cli import main

    saved = dict(os.environ)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    try:
        for wheel in wheels:
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                try:
                    code: object = main(["publish", str(wheel), "-b", repository])
                except SystemExit as exc:
                    code = exc.code
            if code not in (0, None):
                raise BenchError(f"pipper publish {wheel.name} -b {repository} failed: {out.getvalue().strip()}")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def mirror(directory: Path, endpoint: str, url: str) -> int:
    """Copy a local repository to ``s3://bucket/prefix`` object by object (same layout: docs/FORMAT.md)."""
    import boto3

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    files = [p for p in directory.rglob("*") if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(directory).parts)]

    def put(path: Path) -> None:
        key = path.relative_to(directory).as_posix()
        client.put_object(Bucket=bucket, Key=f"{prefix}/{key}" if prefix else key, Body=path.read_bytes())

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, files))
    return len(files)


def public_index(directory: Path, wheels: Iterable[Path]) -> None:
    """A flat PEP 503 tree (``directory/simple/<name>/``) holding ``wheels``."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    for wheel in wheels:
        page = directory / "simple" / canonicalize_name(parse_wheel_filename(wheel.name)[0])
        page.mkdir(parents=True, exist_ok=True)
        shutil.copy(wheel, page / wheel.name)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        links = (page / "index.html").read_text() if (page / "index.html").exists() else ""
        links += f'<a href="{wheel.name}#sha256={digest}">{wheel.name}</a><br>\n'
        (page / "index.html").write_text(links)


# -- venvs ---------------------------------------------------------------------------------


def runtime_closure(project: str) -> list[str]:
    """The installed distributions ``project`` needs at run time (no extras), itself excluded."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    environment = {**{k: str(v) for k, v in default_environment().items()}, "extra": ""}
    seen: dict[str, str] = {}
    todo = [project]
    while todo:
        name = todo.pop()
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            key = canonicalize_name(requirement.name)
            if key in seen or (requirement.marker and not requirement.marker.evaluate(environment)):
                continue
            seen[key] = requirement.name
            todo.append(requirement.name)
    return sorted(seen.values())


def copy_distributions(names: Iterable[str], site: Path) -> None:
    """Copy installed distributions (files listed in their RECORD) from this venv into ``site``, compiled."""
    for name in names:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            source = Path(str(dist.locate_file(file)))
            if source.is_file() and ".." not in file.parts and "__pycache__" not in file.parts:
                target = site / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    compile_tree(site)


def compile_tree(path: Path) -> None:
    """Byte-compile ``path`` as pip does at install time, whatever PYTHONDONTWRITEBYTECODE says:
    otherwise every timed command would compile the copied packages (and this checkout) again."""
    NEUTRAL_CWD.mkdir(parents=True, exist_ok=True)
    subprocess.run([PY, "-m", "compileall", "-q", "-j", "0", str(path)], check=True, stdout=subprocess.DEVNULL,
                   cwd=NEUTRAL_CWD)


def site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python*/site-packages"))


def fresh_venv(target: Path, path_entries: Iterable[Path]) -> Path:
    """A brand-new venv with nothing installed, ``path_entries`` on its path (a .pth file).

    pip itself comes from such an entry (a copy of this venv's pip): it installs into the venv
    it runs in, and every venv of a run gets the same pip without downloading it.
    """
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([PY, "-m", "venv", "--without-pip", str(target)], check=True, cwd=NEUTRAL_CWD)
    (site_packages(target) / "_bench_paths.pth").write_text("".join(f"{p}\n" for p in path_entries))
    return target


def installed(venv: Path) -> dict[str, str]:
    """name -> version of what is installed in ``venv`` itself (not on its .pth paths)."""
    code = ("import importlib.metadata as m, json, sys; "
            "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions(path=[sys.argv[1]])}))")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", code, str(site_packages(venv))],
                          capture_output=True, text=True, check=True, cwd=NEUTRAL_CWD)
    return dict(json.loads(proc.stdout))
