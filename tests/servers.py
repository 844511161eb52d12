"""The tests' real parts: a moto S3 server process, a local "public" PEP 503 index, fresh venvs,
moto in IAM mode, and RepoUnderTest (a repository URL plus the environment that reaches it).

conftest.py turns these into fixtures; test modules import the classes from here by name.
Every server listens on 127.0.0.1 on a free port and is stopped by its fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from .helpers import AccessLog, Result, free_port, run_cli


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status means it is up
                return
            time.sleep(0.1)
    raise RuntimeError(f"server for {url} did not start")


@dataclass
class S3Server:
    endpoint: str
    log: AccessLog
    process: subprocess.Popen[bytes]

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def new_bucket(self) -> str:
        name = f"b-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name


def start_moto(tmp: Path, env: dict[str, str] | None = None) -> S3Server:
    port = free_port()
    log_path = tmp / f"moto-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the server process writes to it until it stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_http(endpoint + "/moto-api/", proc)
    return S3Server(endpoint, AccessLog(log_path), proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@dataclass
class RepoUnderTest:
    """A repository under test plus the environment that reaches it."""

    url: str
    env: dict[str, str]
    server: S3Server | None = None
    bucket: str | None = None

    @property
    def kind(self) -> str:
        return "s3" if self.server else "local"

    def cli(self, *args: str, **kwargs) -> Result:  # type: ignore[no-untyped-def]
        env = {**self.env, **kwargs.pop("env", {})}
        return run_cli(*args, env=env, **kwargs)

    def requests(self) -> list:  # type: ignore[type-arg]
        assert self.server is not None and self.bucket is not None
        return self.server.log.since_mark(f"/{self.bucket}")

    def mark(self) -> None:
        if self.server:
            self.server.log.mark()

    def open(self):  # type: ignore[no-untyped-def]
        from poetry_pipper.location import parse_location
        from poetry_pipper.repository import Repository
        from poetry_pipper.storage import open_storage

        endpoint = self.server.endpoint if self.server else None
        return Repository(open_storage(parse_location(self.url, endpoint_url=endpoint)))


RUNTIME_DISTS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3",
                  "packaging", "cleo", "rapidfuzz", "crashtest")


@dataclass
class PublicIndex:
    url: str
    root: Path

    def add(self, wheel: Path) -> None:
        from packaging.utils import canonicalize_name, parse_wheel_filename

        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        page_dir = self.root / name
        page_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(wheel, page_dir / wheel.name)
        links = "".join(f'<a href="{w.name}">{w.name}</a><br>\n' for w in sorted(page_dir.glob("*.whl")))
        (page_dir / "index.html").write_text(f"<html><body>{links}</body></html>\n")


def pip_env(public: PublicIndex) -> dict[str, str]:
    """pip sees only the local public index: the machine's pip config is ignored."""
    return {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": public.url,
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_FIND_LINKS": "",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_CONSTRAINT": "",
    }


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def run(self, code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.python, "-c", code], capture_output=True, text=True, check=False)

    def has(self, module: str) -> bool:
        return self.run(f"import {module}").returncode == 0


def iam_policies() -> dict[str, str]:
    """The policy documents of docs/iam.md (``<!-- policy:NAME -->`` then a json block): docs and tests cannot drift."""
    import re

    text = (Path(__file__).resolve().parent.parent / "docs" / "iam.md").read_text()
    found = dict(re.findall(r"<!-- policy:(\w+) -->\s*```json\n(.*?)```", text, re.DOTALL))
    assert {"reader", "publisher"} <= found.keys(), "docs/iam.md must hold the reader and publisher policies"
    return found


@dataclass
class AuthS3:
    server: S3Server
    bucket: str
    reader: tuple[str, str]
    publisher: tuple[str, str]
    #: Temporary credentials (key id, secret, session token) of a role with the reader policy.
    reader_session: tuple[str, str, str]
    #: A valid identity with no S3 permission at all (AccessDenied on every read).
    outsider: tuple[str, str] = ("", "")

    def env(self, who: tuple[str, str]) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.server.endpoint, "AWS_ACCESS_KEY_ID": who[0], "AWS_SECRET_ACCESS_KEY": who[1]}
