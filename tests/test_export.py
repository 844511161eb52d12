"""`poetry export` with an s3:// source: refused with one line naming `poetry pipper export`, which
writes each private package as a pre-authorized direct reference that no public index can replace."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from .helpers import make_wheel
from .poetry_helpers import POETRY, Project, poetry_env, pyproject
from .servers import PublicIndex, RepoUnderTest, Venv, pip_env

pytestmark = pytest.mark.poetry


def test_export_refused_and_pipper_export_cannot_be_hijacked(
    s3_repo: RepoUnderTest, public_index: PublicIndex, venv: Venv, tmp_path: Path
) -> None:
    # The public index serves squatted 99.0.0; the private source has squatted 1.0.0.
    for name, version, requires, body in (("squatted", "1.0.0", [], "SOURCE = 'PRIVATE'\n"),
                                          ("exp-app", "1.0.0", ["squatted>=1", "tinypublic"], "")):
        wheel = make_wheel(tmp_path / uuid.uuid4().hex[:8], name, version, requires=requires, body=body)
        s3_repo.cli("publish", str(wheel), "-b", s3_repo.url).assert_ok()
    path = tmp_path / "app"
    path.mkdir()
    (path / "pyproject.toml").write_text(pyproject([("public", public_index.url + "/", "primary"),
                                                    ("private", s3_repo.url, "supplemental")], ["exp-app"]))
    app = Project(path, {**poetry_env(tmp_path), **s3_repo.env}, POETRY)
    app.poetry("lock").assert_ok()

    refused = app.poetry("export", "-f", "requirements.txt", "-o", "requirements.txt")
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.code == 1 and "Traceback" not in refused.output and len(lines) == 1, refused.output
    assert "source 'private'" in lines[0] and "poetry pipper export" in lines[0]
    assert not (path / "requirements.txt").exists()

    app.poetry("pipper", "export", "-o", "requirements.txt", "-e", "2h").assert_ok()
    text = (path / "requirements.txt").read_text()
    assert os.stat(path / "requirements.txt").st_mode & 0o777 == 0o600
    assert f"--index-url {public_index.url}/" in text and "never commit this file" in text
    assert "squatted @ http" in text and "exp-app @ http" in text and "X-Amz-Signature=" in text
    assert "tinypublic==1.0.0" in text and text.count("--hash=sha256:") == 3

    done = subprocess.run([venv.python, "-m", "pip", "install", "-r", "requirements.txt"], capture_output=True,
                          text=True, env={**os.environ, **pip_env(public_index)}, cwd=path, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert venv.run("import exp_app, tinypublic, squatted; print(squatted.SOURCE)").stdout.strip() == "PRIVATE"


def test_pipper_export_errors(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path) -> None:
    path = tmp_path / "nolock"
    path.mkdir()
    (path / "pyproject.toml").write_text(pyproject([("public", public_index.url + "/", "primary"),
                                                    ("private", s3_repo.url, "supplemental")]))
    app = Project(path, {**poetry_env(tmp_path), **s3_repo.env}, POETRY)
    line = app.poetry("pipper", "export").assert_one_line_error()
    assert "no poetry.lock" in line and "poetry lock" in line
    app.poetry("lock").assert_ok()
    line = app.poetry("pipper", "export", "-e", "9 days").assert_one_line_error()
    assert "longer than 7 days" in line
