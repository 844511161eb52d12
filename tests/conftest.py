"""The fixtures: the real parts of tests/servers.py, started once per session (servers) or per test.

Every server listens on 127.0.0.1 on a free port and is stopped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .helpers import ROOT, free_port, make_wheel
from .servers import (
    RUNTIME_DISTS,
    AuthS3,
    PublicIndex,
    RepoUnderTest,
    S3Server,
    Venv,
    iam_policies,
    start_moto,
    stop,
    wait_http,
)

if TYPE_CHECKING:
    from .sigv4_gate import SigV4Gate

# Hermetic: no instance-metadata probes, no real AWS identity, no user config.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
    os.environ.pop(_var, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_CONFIG_FILE"] = "/nonexistent/aws-config"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/aws-credentials"










@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    stop(server.process)




@pytest.fixture
def s3_repo(s3_server: S3Server) -> RepoUnderTest:
    bucket = s3_server.new_bucket()
    return RepoUnderTest(f"s3://{bucket}/team", {"AWS_ENDPOINT_URL": s3_server.endpoint}, s3_server, bucket)


@pytest.fixture
def local_repo(tmp_path: Path) -> RepoUnderTest:
    return RepoUnderTest(str(tmp_path / "repo"), {})


@pytest.fixture(params=["local", "s3"])
def repo(request: pytest.FixtureRequest) -> RepoUnderTest:
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





@pytest.fixture(scope="session")
def public_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublicIndex]:
    root = tmp_path_factory.mktemp("public") / "simple"
    root.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.static_server", str(port), str(root.parent)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    index = PublicIndex(f"http://127.0.0.1:{port}/simple", root)
    wait_http(f"http://127.0.0.1:{port}/", proc)
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




@pytest.fixture(scope="session")
def runtime_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pipper's runtime dependencies, copied out of this environment (what `pip install poetry-pipper` gives)."""
    import importlib.metadata

    site = tmp_path_factory.mktemp("runtime-site")
    for name in RUNTIME_DISTS:
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


@pytest.fixture(scope="session")
def gate(auth_s3: AuthS3) -> Iterator[SigV4Gate]:
    """An HTTP front for auth_s3 that behaves as S3 does where moto does not (tests/sigv4_gate.py):
    presigned URLs really checked, anonymous requests refused with 403."""
    from .sigv4_gate import SigV4Gate

    front = SigV4Gate(auth_s3.server.endpoint, dict([auth_s3.reader, auth_s3.publisher]))
    yield front
    front.close()


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
