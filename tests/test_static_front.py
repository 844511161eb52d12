"""pip, pip-tools and pdm through a static HTTP front over a repository.

A local-directory repository is served by a plain HTTP server on loopback (tests/static_server.py,
what nginx or an S3 website endpoint does: a folder's URL serves its index.html), and the clients
get ``http://127.0.0.1:PORT/simple/`` as their index. Checked: hash checking (the ``#sha256=``
fragments), yanked versions (PEP 592) and Requires-Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ROOT, free_port, make_wheel, only_file
from .servers import PublicIndex, RepoUnderTest, Venv, pip_env, stop, wait_http

BIN = Path(sys.executable).parent


class Front:
    """A local repository with three versions of ``front-lib`` and an app depending on it."""

    def __init__(self, repo: RepoUnderTest, url: str, tmp_path: Path) -> None:
        self.repo, self.url, self.tmp = repo, url, tmp_path

    def publish(self, name: str, version: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
        wheel = make_wheel(self.tmp / "wheels" / uuid.uuid4().hex[:8], name, version, **kwargs)
        self.repo.cli("publish", str(wheel), "-b", self.repo.url).assert_ok()


@pytest.fixture
def front(local_repo: RepoUnderTest, tmp_path: Path) -> Iterator[Front]:
    """front-lib 1.0.0, 1.1.0 (yanked), 1.2.0 (Requires-Python >=3.99); front-app -> front-lib, tinypublic."""
    f = Front(local_repo, "", tmp_path)
    f.publish("front-lib", "1.0.0", body="VERSION = '1.0.0'\n")
    f.publish("front-lib", "1.1.0", body="VERSION = '1.1.0'\n")
    f.publish("front-lib", "1.2.0", requires_python=">=3.99", body="VERSION = '1.2.0'\n")
    f.publish("front-app", "1.0.0", requires=["front-lib>=1.0", "tinypublic"])
    local_repo.cli("yank", "front-lib:1.1.0", "--reason", "broken build", "-b", local_repo.url).assert_ok()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.static_server", str(port), local_repo.url], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/", proc)
    f.url = f"http://127.0.0.1:{port}/simple/"
    yield f
    stop(proc)


def pip(venv: Venv, *args: str, public: PublicIndex, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **pip_env(public)}
    return subprocess.run([venv.python, "-m", "pip", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          check=False)


def test_pip_reads_the_front(front: Front, public_index: PublicIndex, venv: Venv) -> None:
    index = ("--index-url", front.url, "--extra-index-url", public_index.url)
    done = pip(venv, "install", *index, "front-app", public=public_index)
    assert done.returncode == 0, done.stdout + done.stderr
    # 1.2.0 needs Python 3.99 and 1.1.0 is yanked: 1.0.0.
    assert venv.run("import front_lib, tinypublic; print(front_lib.VERSION)").stdout.strip() == "1.0.0"
    # A yanked version pinned exactly is still installed, with pip's warning and the reason.
    done = pip(venv, "install", *index, "front-lib==1.1.0", public=public_index)
    assert done.returncode == 0 and "broken build" in done.stderr, done.stderr
    # Requires-Python is honoured even when pinned.
    done = pip(venv, "install", *index, "front-lib==1.2.0", public=public_index)
    assert done.returncode != 0 and "Requires-Python" in done.stdout + done.stderr


def test_pip_checks_the_hashes_of_the_pages(front: Front, public_index: PublicIndex, venv: Venv) -> None:
    """A file whose bytes changed behind the pages is refused by pip (the #sha256= fragments)."""
    dist = only_file(front.repo.open().require_index("front-lib").releases["1.0.0"])
    path = Path(front.repo.url) / dist.key
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF  # inside the zip's end records: still a file, not the published one
    path.write_bytes(bytes(data))
    done = pip(venv, "install", "--index-url", front.url, "front-lib==1.0.0", public=public_index)
    assert done.returncode != 0 and "HASHES" in (done.stdout + done.stderr).upper(), done.stdout + done.stderr
    assert not venv.has("front_lib")


def test_pip_compile_and_require_hashes(front: Front, public_index: PublicIndex, venv: Venv, tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_text("front-app\n")
    env = {**os.environ, **pip_env(public_index), "CUSTOM_COMPILE_COMMAND": "pip-compile"}
    done = subprocess.run([str(BIN / "pip-compile"), "--generate-hashes", "--no-header", "--index-url", front.url,
                           "--extra-index-url", public_index.url, "--cache-dir", str(tmp_path / "pip-tools-cache"),
                           "requirements.in", "-o", "requirements.txt"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (tmp_path / "requirements.txt").read_text()
    lib = only_file(front.repo.open().require_index("front-lib").releases["1.0.0"])
    assert "front-lib==1.0.0" in text and f"--hash=sha256:{lib.sha256}" in text
    installed = pip(venv, "install", "--require-hashes", "--index-url", front.url, "--extra-index-url",
                    public_index.url, "-r", "requirements.txt", public=public_index, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert venv.run("import front_app, front_lib; print(front_lib.VERSION)").stdout.strip() == "1.0.0"


def test_pdm_lock_and_install(front: Front, public_index: PublicIndex, tmp_path: Path) -> None:
    project = tmp_path / "pdm-app"
    project.mkdir()
    (project / "pyproject.toml").write_text(f"""[project]
name = "pdm-app"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["front-app"]

[tool.pdm]
distribution = false

[[tool.pdm.source]]
name = "private"
url = "{front.url}"

[[tool.pdm.source]]
name = "pypi"
url = "{public_index.url}"
""")
    # pdm installs into the interpreter it is given when that is a venv: give it a fresh one.
    subprocess.run([sys.executable, "-m", "venv", str(project / ".venv")], check=True)
    python = project / ".venv" / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PDM_", "VIRTUAL_ENV"))}
    env.update(PDM_HOME=str(tmp_path / "pdm-home"), PDM_CACHE_DIR=str(tmp_path / "pdm-cache"),
               PDM_CONFIG_FILE=str(tmp_path / "pdm-config.toml"), PDM_CHECK_UPDATE="false", NO_COLOR="1",
               PDM_PYTHON=str(python))

    def pdm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "pdm"), *args], capture_output=True, text=True, env=env, cwd=project,
                              check=False)

    done = pdm("lock")
    assert done.returncode == 0, done.stdout + done.stderr
    lock = (project / "pdm.lock").read_text()
    lib = only_file(front.repo.open().require_index("front-lib").releases["1.0.0"])
    assert 'name = "front-lib"\nversion = "1.0.0"' in lock and f"sha256:{lib.sha256}" in lock
    done = pdm("install", "--frozen-lockfile")
    assert done.returncode == 0, done.stdout + done.stderr
    out = subprocess.run([str(python), "-c", "import front_app, tinypublic, front_lib; print(front_lib.VERSION)"],
                         capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "1.0.0", out.stderr
