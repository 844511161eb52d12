"""`poetry pipper <action>`: the same command classes under Poetry, on the example projects."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from poetry_pipper.commands import COMMANDS

from .helpers import ROOT, run_cli
from .poetry_helpers import POETRY, Poetry, Project, poetry_env
from .servers import PublicIndex, RepoUnderTest

pytestmark = pytest.mark.poetry


def example(tmp_path: Path, name: str, repo: RepoUnderTest, public: PublicIndex, exe: Poetry | None = None) -> Project:
    """Copy an example project, pointing its `private` source at the test repository."""
    path = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, path)
    url = repo.url if repo.kind == "s3" else Path(repo.url).as_uri()
    text = (path / "pyproject.toml").read_text().replace("s3://my-company-pypi/pipper", url)
    text += f'\n[[tool.poetry.source]]\nname = "public"\nurl = "{public.url}/"\npriority = "primary"\n'
    (path / "pyproject.toml").write_text(text)
    return Project(path, {**poetry_env(tmp_path), **repo.env}, exe.path if exe else POETRY)


@pytest.mark.poetry_smoke
def test_bundle_and_publish_to_a_source_then_consume_it(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    # acme-strings is published with the standalone CLI (setuptools project)...
    run_cli("bundle", str(ROOT / "examples" / "acme-strings"), "-o", str(tmp_path / "b"), "--no-isolation").assert_ok()
    s3_repo.cli("publish", str(tmp_path / "b"), "-b", s3_repo.url).assert_ok()
    # ...acme-greetings with `poetry pipper` and the project's source name.
    lib = example(tmp_path, "acme-greetings", s3_repo, public_index, poetry_exe)
    out = lib.poetry("pipper", "bundle").assert_ok().stdout
    bundle = lib.path / "dist" / "acme-greetings-1.0.0.pipper"
    assert bundle.exists() and str(bundle) in out
    assert re.search(r"sha256 [0-9a-f]{64}", out)
    assert not (lib.path / "build").exists()
    published = lib.poetry("pipper", "publish", "-r", "private").assert_ok().stdout
    assert "Published acme-greetings 1.0.0" in published and s3_repo.url in published
    again = lib.poetry("pipper", "publish", "-r", "private", "--build").assert_ok().stdout
    # --build publishes the wheel (rebuilt byte for byte: already there) and the sdist.
    assert "acme_greetings-1.0.0-py3-none-any.whl already published" in again
    assert "Published acme-greetings 1.0.0 (acme_greetings-1.0.0.tar.gz)" in again
    # No -r/-b: the project's only s3:// source is used; dist/ now holds the bundle and the sdist.
    assert lib.poetry("pipper", "publish").assert_ok().stdout.count("already published") == 2

    app = example(tmp_path, "consumer-app", s3_repo, public_index, poetry_exe)
    app.poetry("install").assert_ok()
    assert app.python("import consumer_app; consumer_app.main()").stdout.strip() == "HELLO WORLD!"


@pytest.mark.poetry_smoke
def test_poetry_pipper_install_targets_the_project_venv(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    run_cli("bundle", str(ROOT / "examples" / "acme-strings"), "-o", str(tmp_path / "b"), "--no-isolation").assert_ok()
    s3_repo.cli("publish", str(tmp_path / "b"), "-b", s3_repo.url).assert_ok()
    app = example(tmp_path, "consumer-app", s3_repo, public_index, poetry_exe)
    before = (app.path / "pyproject.toml").read_text()
    result = app.poetry("pipper", "install", "acme-strings").assert_ok()
    assert "poetry add acme-strings --source private" in result.stdout
    assert app.has("acme_strings")
    assert subprocess.run([sys.executable, "-c", "import acme_strings"], capture_output=True).returncode != 0
    assert (app.path / "pyproject.toml").read_text() == before
    # Installed packages are found in the project venv: nothing to do the second time.
    assert "already installed" in app.poetry("pipper", "install", "acme-strings").assert_ok().stdout


@pytest.mark.poetry_smoke
def test_errors_are_one_line_under_poetry(local_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    app = example(tmp_path, "consumer-app", local_repo, public_index, poetry_exe)
    result = app.poetry("pipper", "install", "no-such-package")
    assert result.code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "not found" in lines[0] and "Traceback" not in result.output


def _options(help_text: str) -> list[str]:
    section = help_text.split("Options:")[1].split("Help:")[0] if "Options:" in help_text else ""
    return sorted(m.group(1) for m in re.finditer(r"--([a-z][a-z0-9-]*)", section))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_parity(command: str, tmp_path: Path) -> None:
    """Every `pipper <action>` flag exists under `poetry pipper <action>`, with the same help text."""
    cli = run_cli(command, "--help").assert_ok().stdout
    proc = subprocess.run([POETRY, "--no-ansi", "pipper", command, "--help"], capture_output=True, text=True,
                          check=False, cwd=tmp_path, env={**poetry_env(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    poetry_help = proc.stdout
    assert set(_options(cli)) <= set(_options(poetry_help))
    description = cli.split("Description:")[1].split("Usage:")[0].strip()
    assert description in poetry_help


@pytest.mark.poetry_smoke
def test_credentials_option_takes_key_and_secret_under_poetry(auth_s3, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:  # type: ignore[no-untyped-def]
    """`poetry pipper install -c KEY SECRET NAME`: the words after -c are the keys, NAME the package."""
    url = f"s3://{auth_s3.bucket}/poetry-c-{uuid.uuid4().hex[:8]}"  # one prefix per Poetry under test
    publisher = RepoUnderTest(url, auth_s3.env(auth_s3.publisher))
    run_cli("bundle", str(ROOT / "examples" / "acme-strings"), "-o", str(tmp_path / "b"), "--no-isolation").assert_ok()
    publisher.cli("publish", str(tmp_path / "b"), "-b", url).assert_ok()
    consumer = RepoUnderTest(url, {"AWS_ENDPOINT_URL": auth_s3.server.endpoint}, auth_s3.server, auth_s3.bucket)
    app = example(tmp_path, "consumer-app", consumer, public_index, poetry_exe)
    app.env.update({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
    key, secret = auth_s3.reader
    result = app.poetry("pipper", "install", "-c", key, secret, "acme-strings").assert_ok()
    assert app.has("acme_strings") and secret not in result.output


@pytest.mark.poetry_smoke
def test_repository_option_takes_a_named_repository_too(s3_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path, poetry_exe: Poetry) -> None:
    run_cli("bundle", str(ROOT / "examples" / "acme-strings"), "-o", str(tmp_path / "b"), "--no-isolation").assert_ok()
    s3_repo.cli("publish", str(tmp_path / "b"), "-b", s3_repo.url).assert_ok()
    s3_repo.cli("repository", "add", "team", "-b", s3_repo.url).assert_ok()
    app = example(tmp_path, "consumer-app", RepoUnderTest(str(tmp_path / "elsewhere"), {}), public_index, poetry_exe)
    app.env.update(s3_repo.env)
    # -r names a pipper repository, not a source of this project.
    out = app.poetry("pipper", "info", "acme-strings", "-r", "team", "--json").assert_ok().stdout
    assert '"latest": "1.0.0"' in out
    # -b wins over the project's source.
    out = app.poetry("pipper", "info", "acme-strings", "-b", s3_repo.url, "--json").assert_ok().stdout
    assert '"latest": "1.0.0"' in out
    # The project's only source (an empty directory repository) is the default.
    assert "not found" in app.poetry("pipper", "info", "acme-strings").stderr
