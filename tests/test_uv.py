"""uv reads the bucket straight: the real uv CLI against the moto server in IAM mode (fixture auth_s3).

uv signs its requests to an S3 endpoint with SigV4 (``UV_S3_ENDPOINT_URL`` and the ``s3-endpoint``
preview feature) and asks ``<index-url><name>/``: the PEP 691 JSON page pipper writes at that key.
docs/uv.md describes exactly the setup used here (:func:`uv_env`).

uv first asks without credentials, and signs when refused. Real S3 answers an anonymous GET with
403; moto in IAM mode answers one for a missing key with a 500 (a moto bug), so uv talks to moto
through the ``gate`` fixture (tests/sigv4_gate.py), which refuses anonymous requests with 403 as S3
does and passes header-signed requests to moto unchanged (moto checks the signature and the IAM
policy). The gate's log tells which requests were signed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .helpers import Result, backdate, make_wheel
from .servers import AuthS3, PublicIndex, RepoUnderTest, Venv
from .sigv4_gate import SigV4Gate

UV = str(Path(sys.executable).parent / "uv")

pytestmark = pytest.mark.skipif(not Path(UV).exists(), reason="uv is not installed (requirements-test.txt pins it)")


def uv_env(endpoint: str, who: tuple[str, str], home: Path) -> dict[str, str]:
    """What docs/uv.md tells a uv user to set: the S3 endpoint, the preview feature, the AWS keys, a region."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "VIRTUAL_ENV"))}
    return {
        **env,
        "UV_S3_ENDPOINT_URL": endpoint,
        "UV_PREVIEW_FEATURES": "s3-endpoint",
        "AWS_ACCESS_KEY_ID": who[0],
        "AWS_SECRET_ACCESS_KEY": who[1],
        "AWS_REGION": "us-east-1",
        # Hermetic: a private cache, no Python downloads; the user config dir is the test's own
        # (fixture isolated_user_dirs). Not UV_NO_CONFIG: it would ignore [tool.uv] in pyproject.toml too.
        "UV_CACHE_DIR": str(home / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON": sys.executable,
        "NO_COLOR": "1",
    }


def uv(*args: str, env: dict[str, str], cwd: Path | None = None) -> Result:
    proc = subprocess.run([UV, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


class Bucket:
    """A fresh prefix of the IAM-mode bucket, published to by the publisher identity."""

    def __init__(self, auth_s3: AuthS3, gate: SigV4Gate, tmp_path: Path) -> None:
        self.auth = auth_s3
        self.gate = gate
        self.prefix = f"uv-{uuid.uuid4().hex[:8]}"
        self.repo = RepoUnderTest(f"s3://{auth_s3.bucket}/{self.prefix}", auth_s3.env(auth_s3.publisher))
        self.index_url = f"{gate.endpoint}/{auth_s3.bucket}/{self.prefix}/simple/"
        self.wheels = tmp_path / "wheels"

    def env(self, who: tuple[str, str], home: Path) -> dict[str, str]:
        return uv_env(self.gate.endpoint, who, home)

    def publish(self, name: str, version: str, **kwargs) -> Path:  # type: ignore[no-untyped-def]
        wheel = make_wheel(self.wheels / uuid.uuid4().hex[:8], name, version, **kwargs)
        self.repo.cli("publish", str(wheel), "-b", self.repo.url).assert_ok()
        return wheel

    def core(self):  # type: ignore[no-untyped-def]
        from poetry_pipper.credentials import Credentials
        from poetry_pipper.location import parse_location
        from poetry_pipper.repository import Repository
        from poetry_pipper.storage import open_storage

        who = Credentials(*self.auth.publisher)
        return Repository(open_storage(parse_location(self.repo.url, endpoint_url=self.auth.server.endpoint), who))

    def backdate(self, name: str, version: str, when: str) -> None:
        """Say a version's files were uploaded at ``when``: its records are rewritten, then `pipper reindex`."""
        backdate(self.core(), name, version, when)
        self.repo.cli("reindex", "-b", self.repo.url).assert_ok()


@pytest.fixture
def bucket(auth_s3: AuthS3, gate: SigV4Gate, tmp_path: Path) -> Bucket:
    """acme-report -> acme-strings (private, twice: 1.0.0 and a newer 1.1.0) and tinypublic (public)."""
    b = Bucket(auth_s3, gate, tmp_path)
    b.publish("acme-strings", "1.0.0", body="SOURCE = 'private 1.0.0'\n")
    b.publish("acme-strings", "1.1.0", body="SOURCE = 'private 1.1.0'\n")
    b.publish("Acme_Report", "0.3.0", requires=["acme-strings>=1.0", "tinypublic"])
    return b


def test_uv_pip_install_straight_from_the_bucket(
    bucket: Bucket, auth_s3: AuthS3, public_index: PublicIndex, venv: Venv, tmp_path: Path
) -> None:
    """The reader identity, signed requests; private names from the bucket, public ones from the default index."""
    env = bucket.env(auth_s3.reader, tmp_path)
    bucket.gate.mark()
    result = uv("pip", "install", "--python", venv.python, "--index", bucket.index_url,
                "--default-index", public_index.url, "acme-report", env=env)
    result.assert_ok()
    assert venv.run("import acme_report, acme_strings, tinypublic; print(acme_strings.SOURCE)").stdout.strip() \
        == "private 1.1.0"
    signed = [(r.path.split(f"/{bucket.prefix}/", 1)[1], r.status) for r in bucket.gate.since_mark() if r.kind == "signed"]
    print("uv's signed requests:", signed)
    # One page per name asked (tinypublic: 404, then the default index), the PEP 658 metadata of the
    # versions chosen, the wheels; nothing else, and every one signed with the reader's keys.
    pages = sorted(path for path, _status in signed if path.startswith("simple/"))
    assert pages == ["simple/acme-report/", "simple/acme-strings/", "simple/tinypublic/"]
    assert dict(signed)["simple/tinypublic/"] == 404
    assert sum(path.endswith(".whl") for path, _ in signed) == 2


def test_uv_with_wrong_credentials_fails(bucket: Bucket, auth_s3: AuthS3, public_index: PublicIndex, venv: Venv,
                                         tmp_path: Path) -> None:
    wrong = (auth_s3.reader[0], "not-the-secret")
    result = uv("pip", "install", "--python", venv.python, "--index", bucket.index_url,
                "--default-index", public_index.url, "acme-report", env=bucket.env(wrong, tmp_path))
    assert result.code != 0
    assert "403" in result.stderr, result.stderr
    assert not venv.has("acme_report")
    # Unsigned (no UV_S3_ENDPOINT_URL): refused as well, never served anonymously.
    unsigned = {k: v for k, v in bucket.env(auth_s3.reader, tmp_path).items() if k != "UV_S3_ENDPOINT_URL"}
    result = uv("pip", "install", "--python", venv.python, "--index", bucket.index_url,
                "--default-index", public_index.url, "acme-report", env=unsigned)
    assert result.code != 0 and "403" in result.stderr, result.stderr


def test_uv_exclude_newer_honours_upload_times(bucket: Bucket, auth_s3: AuthS3, public_index: PublicIndex, venv: Venv,
                                              tmp_path: Path) -> None:
    """PEP 700 upload-time in the JSON page: --exclude-newer picks what existed then."""
    for name, version in (("acme-strings", "1.0.0"), ("acme-report", "0.3.0")):
        bucket.backdate(name, version, "2024-03-01T12:00:00Z")
    page = bucket.core().storage.get("simple/acme-strings/")
    assert page is not None and b'"upload-time":"2024-03-01T12:00:00.000000Z"' in page.data
    env = bucket.env(auth_s3.reader, tmp_path)
    # The test's public index is plain HTML, without upload times: uv would drop tinypublic, so it is
    # exempted here (PyPI's JSON pages carry upload times; a public mirror may not).
    exempt = ("--exclude-newer-package", "tinypublic=false")
    uv("pip", "install", "--python", venv.python, "--index", bucket.index_url, "--default-index", public_index.url,
       "--exclude-newer", "2025-01-01T00:00:00Z", *exempt, "acme-report", env=env).assert_ok()
    assert venv.run("import acme_strings; print(acme_strings.SOURCE)").stdout.strip() == "private 1.0.0"
    # Before anything was uploaded: nothing to install.
    result = uv("pip", "install", "--python", venv.python, "--index", bucket.index_url, "--default-index",
                public_index.url, "--exclude-newer", "2020-01-01T00:00:00Z", *exempt, "--reinstall", "acme-report", env=env)
    assert result.code != 0 and "acme-report" in result.stderr


def test_uv_project_add_lock_sync(bucket: Bucket, auth_s3: AuthS3, public_index: PublicIndex, tmp_path: Path) -> None:
    """A uv project with the bucket as a [[tool.uv.index]]: uv add, uv lock, uv sync."""
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(f"""[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = []

[tool.uv]
package = false

[[tool.uv.index]]
name = "private"
url = "{bucket.index_url}"

[[tool.uv.index]]
name = "public"
url = "{public_index.url}"
default = true
""")
    env = bucket.env(auth_s3.reader, tmp_path)
    uv("add", "acme-report", env=env, cwd=project).assert_ok()
    lock = (project / "uv.lock").read_text()
    assert 'name = "acme-strings"' in lock and 'version = "1.1.0"' in lock
    assert f'registry = "{bucket.index_url}"' in lock  # the private names are locked to the bucket
    assert "X-Amz-" not in lock  # no signature, no key id: the lock can be committed
    shutil.rmtree(project / ".venv", ignore_errors=True)
    uv("lock", "--check", env=env, cwd=project).assert_ok()
    uv("sync", "--locked", env=env, cwd=project).assert_ok()
    python = project / ".venv" / "bin" / "python"
    out = subprocess.run([str(python), "-c", "import acme_report, tinypublic, acme_strings; print(acme_strings.SOURCE)"],
                         capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "private 1.1.0", out.stderr
    # A newer private version is seen by `uv lock --upgrade` (the page is read again).
    bucket.publish("acme-strings", "1.2.0", body="SOURCE = 'private 1.2.0'\n")
    uv("lock", "--upgrade-package", "acme-strings", env=env, cwd=project).assert_ok()
    assert 'version = "1.2.0"' in (project / "uv.lock").read_text()


def test_uv_explicit_index_is_not_asked_for_transitive_names(
    bucket: Bucket, auth_s3: AuthS3, public_index: PublicIndex, tmp_path: Path
) -> None:
    """docs/uv.md: with ``explicit = true`` uv asks the bucket only for the names pinned to it in
    [tool.uv.sources]; acme-strings, needed by acme-report, is then looked for on the public index."""
    project = tmp_path / "explicit"
    project.mkdir()
    (project / "pyproject.toml").write_text(f"""[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["acme-report"]

[tool.uv]
package = false

[tool.uv.sources]
acme-report = {{ index = "private" }}

[[tool.uv.index]]
name = "private"
url = "{bucket.index_url}"
explicit = true

[[tool.uv.index]]
name = "public"
url = "{public_index.url}"
default = true
""")
    result = uv("lock", env=bucket.env(auth_s3.reader, tmp_path), cwd=project)
    assert result.code != 0 and "acme-strings" in result.stderr, result.output
