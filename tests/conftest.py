"""Session fixtures: a moto S3 server process, a local "public" PEP 503 index, fresh venvs.

Every server listens on 127.0.0.1 on a free port and is stopped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .helpers import AccessLog, Result, free_port, make_wheel, run_cli

# Hermetic: no instance-metadata probes, no real AWS identity, no user config.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
    os.environ.pop(_var, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_CONFIG_FILE"] = "/nonexistent/aws-config"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/aws-credentials"


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
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
    _wait_http(endpoint + "/moto-api/", proc)
    return S3Server(endpoint, AccessLog(log_path), proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    stop(server.process)


@dataclass
class Repo:
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


@pytest.fixture
def s3_repo(s3_server: S3Server) -> Repo:
    bucket = s3_server.new_bucket()
    return Repo(f"s3://{bucket}/team", {"AWS_ENDPOINT_URL": s3_server.endpoint}, s3_server, bucket)


@pytest.fixture
def local_repo(tmp_path: Path) -> Repo:
    return Repo(str(tmp_path / "repo"), {})


@pytest.fixture(params=["local", "s3"])
def repo(request: pytest.FixtureRequest) -> Repo:
    """Every repository test runs on both backends."""
    return request.getfixturevalue(f"{request.param}_repo")  # type: ignore[no-any-return]


@pytest.fixture
def wheels(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory: ``wheels(name, version, requires=[...])`` -> path of a fresh wheel."""
    out = tmp_path / "wheels"

    def make(name: str, version: str, **kwargs) -> Path:  # type: ignore[no-untyped-def]
        return make_wheel(out / uuid.uuid4().hex[:8], name, version, **kwargs)

    return make


# -- a local "public" index and fresh venvs -------------------------------------------------

_RUNTIME_DISTS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3",
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


@pytest.fixture(scope="session")
def public_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublicIndex]:
    root = tmp_path_factory.mktemp("public") / "simple"
    root.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", "-b", "127.0.0.1", str(port), "-d", str(root.parent)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    index = PublicIndex(f"http://127.0.0.1:{port}/simple", root)
    _wait_http(f"http://127.0.0.1:{port}/", proc)
    make_dir = tmp_path_factory.mktemp("public-wheels")
    index.add(make_wheel(make_dir, "tinypublic", "1.0.0", body="def hello():\n    return 'public hello'\n"))
    # A public package squatting on a private name, with a higher version (dependency confusion).
    index.add(make_wheel(make_dir, "squatted", "99.0.0", body="SOURCE = 'PUBLIC INDEX'\n"))
    # The same for the Poetry guard (tests/test_poetry_guard.py): direct, transitive (a public package
    # depending on a private name) and a name published privately in the pipper 0.x layout.
    for name in ("squat", "legacy-squat"):
        index.add(make_wheel(make_dir, name, "99.0.0", body="SOURCE = 'PUBLIC INDEX'\n"))
        index.add(make_wheel(make_dir, f"uses-{name}", "1.0.0", requires=[name]))
    yield index
    stop(proc)


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


@pytest.fixture(scope="session")
def runtime_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pipper's runtime dependencies, copied out of this environment (what `pip install poetry-pipper` gives)."""
    import importlib.metadata

    site = tmp_path_factory.mktemp("runtime-site")
    for name in _RUNTIME_DISTS:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            source = Path(str(dist.locate_file(file)))
            if source.is_file() and ".." not in file.parts:
                dest = site / file
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)
    return site


@pytest.fixture(scope="session")
def venv_template(tmp_path_factory: pytest.TempPathFactory, runtime_site: Path) -> Path:
    path = tmp_path_factory.mktemp("venv-template") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    site = next(path.glob("lib/python*/site-packages"))
    (site / "_pipper_under_test.pth").write_text(f"{Path(__file__).resolve().parent.parent}\n{runtime_site}\n")
    return path


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


@pytest.fixture
def venv(tmp_path: Path, venv_template: Path) -> Venv:
    """A fresh venv with pipper importable (and nothing else but its runtime dependencies)."""
    target = tmp_path / "venv"
    shutil.copytree(venv_template, target, symlinks=True)
    # Point the console scripts and pyvenv at the copy.
    cfg = target / "pyvenv.cfg"
    cfg.write_text(cfg.read_text().replace(str(venv_template), str(target)))
    return Venv(target)


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own cache and config directories (inherited by the CLI processes)."""
    monkeypatch.setenv("PIPPER_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PIPPER_CONFIG_DIR", raising=False)


# -- moto in authentication mode: signatures and IAM policies are checked -----------------

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


@pytest.fixture(scope="session")
def auth_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthS3]:
    """A second moto server that checks signatures and IAM policies after its setup requests."""
    import json

    import boto3
    import botocore.exceptions

    # Exactly the setup requests: create_bucket + 2 x (create_user, put_user_policy, create_access_key)
    # + create_role, put_role_policy, assume_role + the outsider's create_user, create_access_key.
    # Every later request is authenticated.
    setup_requests = 12
    server = start_moto(tmp_path_factory.mktemp("moto-auth"), {"INITIAL_NO_AUTH_ACTION_COUNT": str(setup_requests)})
    bucket = f"auth-{uuid.uuid4().hex[:12]}"
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1")
    server.client().create_bucket(Bucket=bucket)
    policies = {user: document.replace("BUCKET", bucket).replace("PREFIX", "*")
                for user, document in iam_policies().items()}
    keys = {}
    for user in ("reader", "publisher"):
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName=f"{user}-policy", PolicyDocument=policies[user])
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="reader-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="reader-role", PolicyName="reader-policy", PolicyDocument=policies["reader"])
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name="us-east-1")
    session = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="pipper-tests")["Credentials"]
    iam.create_user(UserName="outsider")
    outsider = iam.create_access_key(UserName="outsider")["AccessKey"]
    try:  # the setup budget is spent: an unknown key must now be refused
        boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="AKIANOTAKEY",
                     aws_secret_access_key="x").head_bucket(Bucket=bucket)
        raise RuntimeError("moto is not checking credentials after the setup requests")
    except botocore.exceptions.ClientError:
        pass
    yield AuthS3(server, bucket, keys["reader"], keys["publisher"],
                 (session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]),
                 (outsider["AccessKeyId"], outsider["SecretAccessKey"]))
    stop(server.process)


# -- a fault-injecting proxy in front of an S3 server (tests/faultproxy.py) -----------------


@pytest.fixture
def fault_proxy():  # type: ignore[no-untyped-def]
    """Factory: ``fault_proxy(target_endpoint, rate, seed, **options)`` -> a started FaultProxy.

    Stopped at the end of the test; its ``summary()`` (faults injected per kind) is printed.
    """
    from .faultproxy import FaultProxy

    started: list[FaultProxy] = []

    def make(target: str, rate: float = 0.0, seed: int = 0, **options) -> FaultProxy:  # type: ignore[no-untyped-def]
        proxy = FaultProxy(target, rate=rate, seed=seed, **options).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        print(f"fault proxy {proxy.url}: {proxy.summary()}")
        proxy.stop()
        log = os.environ.get("PIPPER_TEST_FAULT_LOG")
        if log and proxy.requests:
            with open(log, "a") as handle:  # one short line: appends from several workers do not mix
                handle.write(f"{os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0]}: {proxy.summary()}\n")


# -- the Poetry versions under test (tests/poetry_helpers.py, scripts/poetry-venv) ------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``poetry_exe``: every Poetry 2.x under test; ``old_poetry``: every Poetry before 2.0 under test."""
    from .poetry_helpers import poetries_under_test

    for fixture, wanted in (("poetry_exe", lambda p: p.major == 2), ("old_poetry", lambda p: p.major < 2)):
        if fixture in metafunc.fixturenames:
            found = [p for p in poetries_under_test() if wanted(p)]
            params = [pytest.param(p, id=f"poetry-{p.version}") for p in found] or [
                pytest.param(None, marks=pytest.mark.skip(reason=f"no {fixture} in PIPPER_TEST_POETRY (scripts/test sets it)"))
            ]
            metafunc.parametrize(fixture, params, scope="session")


def pytest_configure(config: pytest.Config) -> None:
    """The controller picks a file where every fault proxy reports; xdist workers inherit it."""
    if not hasattr(config, "workerinput") and "PIPPER_TEST_FAULT_LOG" not in os.environ:
        import tempfile

        fd, path = tempfile.mkstemp(prefix="pipper-faults-", suffix=".log")
        os.close(fd)
        os.environ["PIPPER_TEST_FAULT_LOG"] = path


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    """Faults injected per kind, per test, at the end of the run (tests/faultproxy.py)."""
    log = os.environ.get("PIPPER_TEST_FAULT_LOG")
    if hasattr(config, "workerinput") or not log or not os.path.exists(log):
        return
    lines = [line for line in Path(log).read_text().splitlines() if line.strip()]
    os.unlink(log)
    if lines:
        terminalreporter.section("fault proxy")
        for line in sorted(lines):
            terminalreporter.line(line)
