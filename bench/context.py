"""What every benchmark section shares: scratch space, servers, venv ingredients, environments."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.figures import Figures
from bench.servers import Processes, Server
from bench.support import (
    NEUTRAL_CWD,
    PY,
    ROOT,
    SCRATCH,
    BenchError,
    compile_tree,
    copy_distributions,
    fresh_venv,
    hermetic_env,
    public_index,
    runtime_closure,
)

POETRY = str(Path(PY).parent / "poetry")
PERSISTENT = ROOT / ".cache" / "bench"


@dataclass
class Context:
    quick: bool
    runs: int
    procs: Processes
    figures: Figures
    scratch: Path = SCRATCH
    env: dict[str, str] = field(default_factory=dict)
    moto: Server | None = None
    public: Server | None = None
    _sites: dict[str, Path] = field(default_factory=dict)

    def start(self) -> None:
        """The moto S3 server and the public stand-in index (tinypublic), both on loopback."""
        from tests.helpers import make_wheel

        self.env = hermetic_env(self.scratch)
        compile_tree(ROOT / "poetry_pipper")  # what `pip install` would have done (editable here)
        self.moto = self.procs.moto()
        self.env["AWS_ENDPOINT_URL"] = self.moto.url
        public_index(self.scratch / "public", [make_wheel(self.scratch / "public-wheels", "tinypublic", "1.0.0")])
        self.public = self.procs.static(self.scratch / "public", "public")

    @property
    def s3(self) -> Server:
        assert self.moto is not None
        return self.moto

    @property
    def public_url(self) -> str:
        assert self.public is not None
        return f"{self.public.url}/simple/"

    def unique(self, prefix: str) -> Path:
        """A new, empty directory under scratch (a cold cache, a project copy)."""
        path = self.scratch / "tmp" / f"{prefix}-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        return path

    # -- venv ingredients -------------------------------------------------------------------

    def site(self, name: str) -> Path:
        """Shared directories put on fresh venvs' paths: 'pip', 'pipper' (runtime dependencies), 'pipper011'."""
        if name not in self._sites:
            self._sites[name] = getattr(self, f"_make_{name}_site")()
        return self._sites[name]

    def _make_pip_site(self) -> Path:
        site = self.scratch / "sites" / "pip"
        copy_distributions(["pip"], site)
        return site

    def _make_pipper_site(self) -> Path:
        site = self.scratch / "sites" / "pipper-runtime"
        copy_distributions(runtime_closure("poetry-pipper"), site)
        return site

    def _make_pipper011_site(self) -> Path:
        """pipper 0.11.1 and its dependencies (kept in .cache/bench: the only download of a run)."""
        site = PERSISTENT / "pipper011-site"
        if (site / ".complete").exists():
            return site
        shutil.rmtree(site, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}  # the machine's pip configuration
        command = [PY, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", str(site)]
        wheelhouse = ROOT / ".cache" / "wheelhouse" / "pipper011"  # scripts/test downloads it there
        if (wheelhouse / ".complete").exists():
            done = subprocess.run([*command, "--no-index", "--find-links", str(wheelhouse), "pipper==0.11.1"],
                                  env=env, capture_output=True, check=False, cwd=NEUTRAL_CWD).returncode == 0
        else:
            done = False
        if not done:
            proc = subprocess.run([*command, "pipper==0.11.1"], env=env, capture_output=True, text=True, check=False,
                                  cwd=NEUTRAL_CWD)
            if proc.returncode != 0:
                raise BenchError(f"cannot install pipper 0.11.1: {proc.stderr.strip().splitlines()[-1:]}")
        compile_tree(site)
        (site / ".complete").touch()
        return site

    def venv(self, kind: str) -> Path:
        """A brand-new venv: 'pip' (pip only), 'pipper' (+ poetry-pipper from this checkout), 'pipper011'."""
        paths = [self.site("pip")]
        if kind == "pipper":
            paths += [ROOT, self.site("pipper")]
        elif kind == "pipper011":
            paths.append(self.site("pipper011"))
        return fresh_venv(self.unique(f"venv-{kind}") / "venv", paths)

    # -- environments -----------------------------------------------------------------------

    def poetry_env(self, endpoint: str | None = None) -> dict[str, str]:
        """Poetry with cold caches of its own (release info, artifacts; and pipper's wheel cache)."""
        env = {**self.env, "POETRY_CACHE_DIR": str(self.unique("poetry-cache")),
               "PIPPER_CACHE_DIR": str(self.unique("pipper-cache"))}
        if endpoint:
            env["AWS_ENDPOINT_URL"] = endpoint
        return env

    def pipper_env(self, endpoint: str | None = None, public: str | None = None) -> dict[str, str]:
        """pipper with a cold wheel cache; pip's public index is the loopback stand-in."""
        env = {**self.env, "PIPPER_CACHE_DIR": str(self.unique("pipper-cache")),
               "PIP_INDEX_URL": public or self.public_url}
        if endpoint:
            env["AWS_ENDPOINT_URL"] = endpoint
        return env


def poetry_project(path: Path, sources: list[tuple[str, str, str]], dependencies: dict[str, str]) -> Path:
    """A non-package Poetry project with these sources (name, url, priority) and dependencies."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    text = ('[project]\nname = "bench-app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n\n'
            "[tool.poetry]\npackage-mode = false\n")
    for name, url, priority in sources:
        text += f'\n[[tool.poetry.source]]\nname = "{name}"\nurl = "{url}"\npriority = "{priority}"\n'
    text += "\n[tool.poetry.dependencies]\n" + "".join(f"{k} = {v}\n" for k, v in dependencies.items())
    (path / "pyproject.toml").write_text(text)
    return path


def locked(project: Path) -> dict[str, tuple[str, str]]:
    """name -> (version, source url) from the project's poetry.lock."""
    import tomllib

    data = tomllib.loads((project / "poetry.lock").read_text())
    return {p["name"]: (p["version"], p.get("source", {}).get("url", "")) for p in data.get("package", [])}
