"""The original pipper 0.11.1 (from PyPI) in a side venv, to make real 0.x bundles and buckets.

* Its wheels come from ``.cache/wheelhouse/pipper011`` (``scripts/test`` downloads them once).
  If they are missing, one ``pip download`` is tried here (the only network use, as a fallback),
  else the tests that need them are skipped with the reason.
* The side venv is made offline from that wheelhouse (``--no-index --find-links``) into
  ``.cache/pipper011/`` and reused across runs; a file lock serializes concurrent sessions.
* Bundles are made by ``pipper bundle`` 0.11.1 itself from poetry-core projects (0.x runs
  ``poetry build``: no network), cached by the content of :data:`PROJECTS`.
* 0.11.1 reaches the moto server through ``AWS_ENDPOINT_URL``, which its boto3 honours:
  no patching of pipper 0.x is needed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from .helpers import ROOT
from .poetry_helpers import POETRY, poetry_env

VERSION = "0.11.1"
WHEELHOUSE = Path(os.environ.get("PIPPER011_WHEELHOUSE") or ROOT / ".cache" / "wheelhouse" / "pipper011")
CACHE = ROOT / ".cache" / "pipper011"


@dataclass(frozen=True)
class Project:
    """A poetry-core project as a 0.x user would have it: name and version exactly as written."""

    name: str
    version: str
    requires: tuple[str, ...] = ()
    pipper_dependencies: tuple[str, ...] = ()  # pipper.json "dependencies" (0.x syntax)

    @property
    def module(self) -> str:
        return self.name.lower().replace(".", "_").replace("-", "_")


#: The 0.x bucket of the tests: capitals and a dot in names, pre-releases and a build tag.
PROJECTS = (
    Project("Acme.Math", "1.0.0"),
    Project("Acme.Math", "1.1.0"),
    Project("Acme.Math", "2.0.0-rc.1"),
    Project("Acme_Report", "1.0.0", ("acme-math>=1,<2", "tinypublic>=1"), ("Acme.Math:1.*",)),
    Project("Acme_Report", "1.2.3-alpha.1+2-tests", ("acme-math>=2.0.0rc1",)),
)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def wheelhouse() -> Path:
    with _locked(CACHE / ".lock-wheelhouse"):
        if not (WHEELHOUSE / ".complete").exists():
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--only-binary=:all:",
                 "-d", str(WHEELHOUSE), f"pipper=={VERSION}"],
                capture_output=True, text=True, timeout=300, check=False,
            )
            if proc.returncode != 0:
                pytest.skip(f"pipper {VERSION} wheels are not in {WHEELHOUSE} and could not be downloaded"
                            " (offline?): run scripts/test once with network access")
            (WHEELHOUSE / ".complete").touch()
    return WHEELHOUSE


def side_venv() -> Path:
    """A venv with pipper 0.11.1 and nothing of ours, made offline from the wheelhouse."""
    house = wheelhouse()
    tag = hashlib.sha256("\n".join(sorted(p.name for p in house.glob("*.whl"))).encode()).hexdigest()[:12]
    venv = CACHE / f"venv-py{sys.version_info[0]}{sys.version_info[1]}-{tag}"
    with _locked(CACHE / ".lock-venv"):
        ready = venv / ".ready"
        if ready.exists() and subprocess.run([str(venv / "bin" / "python"), "-c", "import pipper"],
                                             capture_output=True, check=False).returncode == 0:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        proc = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--no-index", "--find-links", str(house), f"pipper=={VERSION}"],
            capture_output=True, text=True, check=False, env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
        )
        if proc.returncode != 0:
            pytest.fail(f"installing pipper {VERSION} from {house} failed:\n{proc.stdout}\n{proc.stderr}")
        ready.touch()
    return venv


def run(venv: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run pipper 0.11.1; its output (which echoes part of the key, a 0.x defect) stays in the test."""
    proc = subprocess.run(
        [str(venv / "bin" / "pipper"), *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False,
        env={**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{Path(POETRY).parent}{os.pathsep}{os.environ['PATH']}",
             "AWS_EC2_METADATA_DISABLED": "true", **(env or {})},
    )
    assert proc.returncode == 0, f"pipper {VERSION} {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _write_project(project: Project, directory: Path) -> None:
    deps = ", ".join(json.dumps(r) for r in project.requires)
    (directory / project.module).mkdir(parents=True)
    (directory / project.module / "__init__.py").write_text(f"VERSION = {project.version!r}\n")
    (directory / "pyproject.toml").write_text(f"""[project]
name = "{project.name}"
version = "{project.version}"
description = "a 0.x package"
requires-python = ">=3.9"
dependencies = [{deps}]

[tool.poetry]
packages = [{{ include = "{project.module}" }}]

[build-system]
requires = ["poetry-core>=2.0"]
build-backend = "poetry.core.masonry.api"
""")
    if project.pipper_dependencies:
        (directory / "pipper.json").write_text(json.dumps({"dependencies": list(project.pipper_dependencies)}))


def bundles(venv: Path) -> dict[Project, Path]:
    """Each of :data:`PROJECTS` bundled by ``pipper bundle`` 0.11.1 (cached by their definition)."""
    tag = hashlib.sha256(repr((VERSION, PROJECTS)).encode()).hexdigest()[:12]
    out = CACHE / f"bundles-{tag}"
    with _locked(CACHE / ".lock-bundles"):
        if not (out / ".ready").exists():
            shutil.rmtree(out, ignore_errors=True)
            work = CACHE / f"build-{tag}"
            shutil.rmtree(work, ignore_errors=True)

            def build(number: int, project: Project) -> None:
                source = work / f"p{number}"
                _write_project(project, source)
                dest = out / f"p{number}"
                dest.mkdir(parents=True)
                run(venv, "bundle", str(source), "-o", str(dest), cwd=source,
                    env={**poetry_env(work / "poetry"), "PIP_NO_INDEX": "1"})

            with ThreadPoolExecutor(max_workers=3) as pool:
                list(pool.map(build, range(len(PROJECTS)), PROJECTS))
            shutil.rmtree(work, ignore_errors=True)
            (out / ".ready").touch()
    found = {}
    for number, project in enumerate(PROJECTS):
        (bundle,) = (out / f"p{number}").glob("*.pipper")
        found[project] = bundle
    return found


def publish(venv: Path, made: dict[Project, Path], bucket: str, endpoint: str) -> None:
    """``pipper publish`` 0.11.1 of every bundle into ``bucket`` (root prefix ``pipper``)."""
    env = {"AWS_ENDPOINT_URL": endpoint, "HOME": str(CACHE / "home")}
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda b: run(venv, "publish", str(b), "-b", bucket, env=env), made.values()))
