"""Credentials: the resolution order, -c parsing, error lines, IAM (docs/iam.md) and that no secret is ever shown.

End-to-end tests run against moto in authentication mode (``auth_s3``): a step "wins" when the
command succeeds although every lower-priority step holds keys that moto would reject.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from poetry_pipper.access import Access, Options, resolve_access
from poetry_pipper.config import Config, RepositoryConfig
from poetry_pipper.credentials import (
    Credentials,
    expand_credentials_args,
    looks_like_token,
    parse_keys,
    redact,
    redactions,
)
from poetry_pipper.errors import PipperError

from .helpers import LoopbackServer, Result, make_wheel, run_cli
from .servers import AuthS3, PublicIndex, S3Server, Venv, pip_env

BAD = ("AKIABADBADBADBAD0000", "badSecretbadSecretbadSecretbadSecret0000")
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN/" + "Ab+9" * 40 + "=="


# -- the resolution order, as a pure function ------------------------------------------------------


def resolve_full(*, env: dict[str, str], config: object, **options: object) -> Access:
    return resolve_access(Options(**options), env=env, config=config)  # type: ignore[arg-type]


def make_config(**repos: RepositoryConfig) -> Config:
    return Config(dict(repos), default="dflt" if "dflt" in repos else None)


CONFIG = make_config(
    team=RepositoryConfig("team", "s3://team-bucket/pypi", endpoint_url="http://team:9000", region="eu-west-1",
                          access_key_id="AKIATEAM0000", secret_access_key="team-secret"),
    prof=RepositoryConfig("prof", "s3://prof-bucket/pypi", profile="prof-profile"),
    bare=RepositoryConfig("bare", "s3://bare-bucket/pypi"),
    dflt=RepositoryConfig("dflt", "s3://default-bucket/pypi", access_key_id="AKIADFLT0000", secret_access_key="dflt-secret"),
)
ENV_BOTH = {"PIPPER_AWS_ACCESS_KEY_ID": "AKIAPIPPER00", "PIPPER_AWS_SECRET_ACCESS_KEY": "pipper-secret",
            "AWS_ACCESS_KEY_ID": "AKIAAWS00000", "AWS_SECRET_ACCESS_KEY": "aws-secret"}


@pytest.mark.parametrize(
    ("kwargs", "env", "source", "key"),
    [
        # 1. -c beats everything below it.
        ({"keys": ["AKIACLI00000", "cli-secret"], "repository": "team", "profile": "p"}, ENV_BOTH, "-c/--credentials", "AKIACLI00000"),
        # 2. -r: the repository's stored keys, or its stored profile.
        ({"repository": "team", "profile": "p"}, ENV_BOTH, "repository 'team'", "AKIATEAM0000"),
        ({"repository": "prof", "profile": "p"}, ENV_BOTH, "repository 'prof'", None),
        # 3. -p (also when -r names a repository without stored credentials).
        ({"bucket": "s3://x-bucket/p", "profile": "p"}, ENV_BOTH, "-p/--profile", None),
        ({"repository": "bare", "profile": "p"}, ENV_BOTH, "-p/--profile", None),
        # 4. and 5. the environment.
        ({"bucket": "s3://x-bucket/p"}, ENV_BOTH, "$PIPPER_AWS_ACCESS_KEY_ID", "AKIAPIPPER00"),
        ({"bucket": "s3://x-bucket/p"}, {k: v for k, v in ENV_BOTH.items() if k.startswith("AWS")}, "$AWS_ACCESS_KEY_ID", "AKIAAWS00000"),
        # 6. the default repository (for -b as well as for its own location).
        ({"bucket": "s3://x-bucket/p"}, {}, "default repository 'dflt'", "AKIADFLT0000"),
        ({}, {}, "default repository 'dflt'", "AKIADFLT0000"),
        # 7. the AWS default chain; a named repository without credentials does not borrow the default's.
        ({"repository": "bare"}, {}, "the AWS default chain", None),
        ({"repository": "bare"}, {"AWS_PROFILE": "dev"}, "the AWS default chain ($AWS_PROFILE=dev)", None),
    ],
)
def test_resolution_order(kwargs: dict, env: dict[str, str], source: str, key: str | None) -> None:  # type: ignore[type-arg]
    resolved = resolve_full(env=env, config=CONFIG, **kwargs)
    assert resolved.credentials.source == source
    assert resolved.credentials.access_key_id == key
    if source == "repository 'prof'":
        assert resolved.credentials.profile == "prof-profile"
    if source == "-p/--profile":
        assert resolved.credentials.profile == "p"


def test_resolution_without_default_repository() -> None:
    config = make_config(bare=CONFIG.repositories["bare"])
    assert resolve_full(bucket="s3://x-bucket/p", env={}, config=config).credentials.source == "the AWS default chain"
    with pytest.raises(PipperError, match="no repository given: pass -b .* or -r NAME"):
        resolve_full(env={}, config=config)


def test_location_sources() -> None:
    env = {"AWS_ENDPOINT_URL": "http://env:1"}
    team = resolve_full(repository="team", env=env, config=CONFIG)
    assert (team.location.url, team.location.endpoint_url, team.location.region) == (
        "s3://team-bucket/pypi", "http://team:9000", "eu-west-1")
    assert team.location_source == "repository 'team'"
    # -b overrides the repository's bucket; the repository's endpoint and region still apply...
    other = resolve_full(repository="team", bucket="s3://other-bucket/x", env=env, config=CONFIG)
    assert (other.location.url, other.location.endpoint_url, other.location.region) == (
        "s3://other-bucket/x", "http://team:9000", "eu-west-1")
    assert other.credentials.source == "repository 'team'"
    # ...unless given explicitly.
    explicit = resolve_full(repository="team", endpoint_url="http://cli:2", region="us-west-2", env=env, config=CONFIG)
    assert (explicit.location.endpoint_url, explicit.location.region) == ("http://cli:2", "us-west-2")
    # Without a stored endpoint, $AWS_ENDPOINT_URL applies.
    dflt = resolve_full(env=env, config=CONFIG)
    assert (dflt.location.url, dflt.location.endpoint_url) == ("s3://default-bucket/pypi", "http://env:1")
    assert dflt.location_source == "default repository 'dflt'"


def test_config_is_read_only_when_needed() -> None:
    def loader() -> Config:
        raise AssertionError("the config file was read")

    resolved = resolve_full(bucket="s3://x-bucket/p", keys=["AKIACLI00000", "s"], env={}, config=loader)
    assert resolved.credentials.source == "-c/--credentials"
    assert resolve_full(bucket="s3://x-bucket/p", env=ENV_BOTH, config=loader).credentials.access_key_id == "AKIAPIPPER00"


def test_unknown_repository() -> None:
    with pytest.raises(PipperError, match=r"unknown repository 'nope' \(known: bare, dflt, prof, team\): add it with"):
        resolve_full(repository="nope", env={}, config=CONFIG)


def test_tokens_and_partial_environment() -> None:
    env = {"PIPPER_AWS_ACCESS_KEY_ID": "AKIAPIPPER00", "PIPPER_AWS_SECRET_ACCESS_KEY": "s", "PIPPER_AWS_SESSION_TOKEN": "0"}
    assert resolve_full(bucket="b-bucket", env=env, config=CONFIG).credentials.session_token is None
    env["PIPPER_AWS_SESSION_TOKEN"] = TOKEN
    assert resolve_full(bucket="b-bucket", env=env, config=CONFIG).credentials.session_token == TOKEN
    with pytest.raises(PipperError, match=r"\$PIPPER_AWS_ACCESS_KEY_ID is set but \$PIPPER_AWS_SECRET_ACCESS_KEY is not"):
        resolve_full(bucket="b-bucket", env={"PIPPER_AWS_ACCESS_KEY_ID": "AKIA1234"}, config=CONFIG)
    with pytest.raises(PipperError, match=r"\$AWS_SECRET_ACCESS_KEY is set but \$AWS_ACCESS_KEY_ID is not"):
        resolve_full(bucket="b-bucket", env={"AWS_SECRET_ACCESS_KEY": "x"}, config=CONFIG)


# -- -c KEY SECRET [TOKEN] ---------------------------------------------------------------------


def test_parse_keys() -> None:
    assert parse_keys(["K", "S"]) == Credentials("K", "S", None, source="-c/--credentials")
    assert parse_keys(["K", "S", "0"]).session_token is None
    assert parse_keys(["K", "S", TOKEN]).session_token == TOKEN
    assert parse_keys(["K:S"]).secret_access_key == "S"
    assert parse_keys([f"K:S:{TOKEN}"]).session_token == TOKEN
    for bad in (["KEYVAL"], ["KEYVAL", "SECVAL", "TOKVAL", "MORE"], ["", "SECVAL"], ["KEYVAL:"]):
        with pytest.raises(PipperError, match=r"KEY SECRET \[TOKEN\]") as info:
            parse_keys(bad)
        assert "VAL" not in str(info.value)  # values are never repeated


def test_looks_like_token(tmp_path: Path) -> None:
    assert looks_like_token("0") and looks_like_token(TOKEN)
    long_name = "a" * 70
    (tmp_path / long_name).write_text("")
    for word in ("foo", "foo:1.2.*", "foo>=1,<2", "./dist", "x" * 63, "pkg-" + "a" * 70 + ".pipper", str(tmp_path / long_name)):
        assert not looks_like_token(word), word


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["install", "-c", "K", "S", "foo"], ["install", "--credentials=K", "--credentials=S", "foo"]),
        (["install", "foo", "-c", "K", "S", "0", "bar"],
         ["install", "foo", "--credentials=K", "--credentials=S", "--credentials=0", "bar"]),
        (["info", "-c", "K", "S", TOKEN, "foo"],
         ["info", "--credentials=K", "--credentials=S", f"--credentials={TOKEN}", "foo"]),
        (["info", "--credentials", "K:S", "foo"], ["info", "--credentials=K:S", "foo"]),
        (["info", "-c", "K", "S", "-v", "foo"], ["info", "--credentials=K", "--credentials=S", "-v", "foo"]),
        (["info", "foo", "-c", "K", "-b", "x"], ["info", "foo", "--credentials=K", "-b", "x"]),
        (["info", "foo", "-c"], ["info", "foo", "-c"]),
        (["info", "--", "-c", "K", "S"], ["info", "--", "-c", "K", "S"]),
        (["info", "--credentials=K", "--credentials=S", "foo"], ["info", "--credentials=K", "--credentials=S", "foo"]),
    ],
)
def test_expand_credentials_args(args: list[str], expected: list[str]) -> None:
    assert expand_credentials_args(args) == expected
    assert expand_credentials_args(expected) == expected  # idempotent


def test_redact() -> None:
    table = redactions(env={}, credentials=[Credentials("AKIAABCDEFGH", "sec/ret+123", TOKEN)])
    text = redact(f"key AKIAABCDEFGH secret sec/ret+123 token {TOKEN}", table)
    assert text == "key AKIA**** secret **** token ****"


# -- end to end: each step against moto's real signature and IAM checks ----------------------------


@pytest.fixture(scope="module")
def published(auth_s3: AuthS3, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``s3://AUTH-BUCKET/<random>`` holding credpkg 1.0.0, published by the publisher."""
    url = f"s3://{auth_s3.bucket}/creds-{uuid.uuid4().hex[:8]}"
    wheel = make_wheel(tmp_path_factory.mktemp("creds"), "credpkg", "1.0.0")
    run_cli("publish", str(wheel), "-b", url, env=auth_s3.env(auth_s3.publisher)).assert_ok()
    return url


def aws_files(tmp_path: Path, profiles: dict[str, tuple[str, str]]) -> dict[str, str]:
    path = tmp_path / "aws-credentials"
    path.write_text("".join(f"[{name}]\naws_access_key_id = {k}\naws_secret_access_key = {s}\n"
                            for name, (k, s) in profiles.items()))
    return {"AWS_SHARED_CREDENTIALS_FILE": str(path)}


def no_env_keys() -> dict[str, str]:
    return {name: "" for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PIPPER_AWS_ACCESS_KEY_ID",
                                  "PIPPER_AWS_SECRET_ACCESS_KEY")}


def env_keys(prefix: str, who: tuple[str, str]) -> dict[str, str]:
    return {f"{prefix}ACCESS_KEY_ID": who[0], f"{prefix}SECRET_ACCESS_KEY": who[1]}


def add_repo(name: str, url: str, *args: str, env: dict[str, str] | None = None) -> None:
    run_cli("repository", "add", name, "-b", url, *args, env=env).assert_ok()


def info(auth_s3: AuthS3, *args: str, env: dict[str, str], verbose: bool = True) -> Result:
    return run_cli("info", "credpkg", *(["-v"] if verbose else []), *args,
                   env={"AWS_ENDPOINT_URL": auth_s3.server.endpoint, **env})


def check(result: Result, expected_line: str, *secrets: str) -> None:
    result.assert_ok()
    assert "credpkg" in result.stdout
    assert f"credentials: {expected_line}" in result.stderr.splitlines(), result.stderr
    for secret in secrets:
        assert secret not in result.output


def test_step1_cli_keys_win(auth_s3: AuthS3, published: str, tmp_path: Path) -> None:
    add_repo("team", published, "-c", *BAD, "-d")
    env = {**env_keys("PIPPER_AWS_", BAD), **env_keys("AWS_", BAD), **aws_files(tmp_path, {})}
    key, secret = auth_s3.reader
    check(info(auth_s3, "-r", "team", "-p", "nosuch", "-c", key, secret, env=env),
          "keys AKIA**** from -c/--credentials", key, secret)
    check(info(auth_s3, "-r", "team", "-c", f"{key}:{secret}", env=env), "keys AKIA**** from -c/--credentials", secret)


def test_step1_session_token(auth_s3: AuthS3, published: str) -> None:
    key, secret, token = auth_s3.reader_session
    env = env_keys("AWS_", BAD)
    check(info(auth_s3, "-b", published, "-c", key, secret, token, env=env), "keys ASIA**** from -c/--credentials", token)
    # The token may also come before the package argument, or as KEY:SECRET:TOKEN.
    result = run_cli("info", "-c", key, secret, token, "credpkg", "-b", published,
                     env={"AWS_ENDPOINT_URL": auth_s3.server.endpoint, **env})
    assert "credpkg" in result.assert_ok().stdout
    check(info(auth_s3, "-b", published, "-c", f"{key}:{secret}:{token}", env=env), "keys ASIA**** from -c/--credentials")
    # A TOKEN of 0 means "no token": moto then refuses the temporary key id.
    line = info(auth_s3, "-b", published, "-c", key, secret, "0", env=env, verbose=False).assert_one_line_error()
    assert "credentials rejected by S3" in line and "[identity: keys ASIA**** from -c/--credentials]" in line


def test_step2_repository_keys_or_profile(auth_s3: AuthS3, published: str, tmp_path: Path) -> None:
    files = aws_files(tmp_path, {"reader": auth_s3.reader})
    add_repo("team", published, "-c", *auth_s3.reader)
    add_repo("byprofile", published, "-p", "reader")
    add_repo("other", published, "-c", *BAD, "-d")
    env = {**env_keys("PIPPER_AWS_", BAD), **env_keys("AWS_", BAD), **files}
    check(info(auth_s3, "-r", "team", "-p", "nosuch", env=env), "keys AKIA**** from repository 'team'", auth_s3.reader[1])
    check(info(auth_s3, "-r", "byprofile", "-p", "nosuch", env=env), "profile 'reader' from repository 'byprofile'")


def test_step3_profile(auth_s3: AuthS3, published: str, tmp_path: Path) -> None:
    add_repo("other", published, "-c", *BAD, "-d")
    add_repo("bare", published)
    env = {**env_keys("PIPPER_AWS_", BAD), **env_keys("AWS_", BAD), **aws_files(tmp_path, {"reader": auth_s3.reader})}
    check(info(auth_s3, "-b", published, "-p", "reader", env=env), "profile 'reader' from -p/--profile")
    check(info(auth_s3, "-r", "bare", "-p", "reader", env=env), "profile 'reader' from -p/--profile")


def test_step4_pipper_environment(auth_s3: AuthS3, published: str, tmp_path: Path) -> None:
    add_repo("other", published, "-c", *BAD, "-d")
    env = {**env_keys("PIPPER_AWS_", auth_s3.reader), **env_keys("AWS_", BAD), **aws_files(tmp_path, {"default": BAD})}
    check(info(auth_s3, "-b", published, env=env), "keys AKIA**** from $PIPPER_AWS_ACCESS_KEY_ID", auth_s3.reader[1])
    key, secret, token = auth_s3.reader_session
    session = {"PIPPER_AWS_ACCESS_KEY_ID": key, "PIPPER_AWS_SECRET_ACCESS_KEY": secret, "PIPPER_AWS_SESSION_TOKEN": token}
    check(info(auth_s3, "-b", published, env={**env, **session}), "keys ASIA**** from $PIPPER_AWS_ACCESS_KEY_ID", token)


def test_step5_aws_environment(auth_s3: AuthS3, published: str, tmp_path: Path) -> None:
    add_repo("other", published, "-c", *BAD, "-d")
    env = {**no_env_keys(), **env_keys("AWS_", auth_s3.reader), **aws_files(tmp_path, {"default": BAD})}
    check(info(auth_s3, "-b", published, env=env), "keys AKIA**** from $AWS_ACCESS_KEY_ID", auth_s3.reader[1])


def test_step6_default_repository(auth_s3: AuthS3, published: str, tmp_path: Path) -> None:
    add_repo("main", published, "-c", *auth_s3.reader, "-d")
    env = {**no_env_keys(), **aws_files(tmp_path, {"default": BAD})}
    check(info(auth_s3, env=env), "keys AKIA**** from default repository 'main'", auth_s3.reader[1])
    check(info(auth_s3, "-b", published, env=env), "keys AKIA**** from default repository 'main'")


def test_step7_aws_default_chain(auth_s3: AuthS3, published: str, tmp_path: Path) -> None:
    add_repo("bare", published, "-d")  # a default repository without credentials
    env = {**no_env_keys(), **aws_files(tmp_path, {"default": auth_s3.reader, "named": BAD})}
    check(info(auth_s3, "-b", published, env=env), "the AWS default chain")
    check(info(auth_s3, env=env), "the AWS default chain")
    named = aws_files(tmp_path, {"default": BAD, "named": auth_s3.reader})
    check(info(auth_s3, "-b", published, env={**env, **named, "AWS_PROFILE": "named"}),
          "the AWS default chain ($AWS_PROFILE=named)")


# -- error lines ---------------------------------------------------------------------------------


def test_unknown_repository_error(auth_s3: AuthS3) -> None:
    line = info(auth_s3, "-r", "nope", env={}, verbose=False).assert_one_line_error()
    assert "unknown repository 'nope'" in line and "pipper repository add nope -b s3://bucket/prefix" in line


def test_unknown_profile_errors(auth_s3: AuthS3, published: str, tmp_path: Path) -> None:
    files = aws_files(tmp_path, {"reader": auth_s3.reader})
    line = info(auth_s3, "-b", published, "-p", "nosuch", env=files, verbose=False).assert_one_line_error()
    assert line == ("error: unknown AWS profile 'nosuch' (from -p/--profile): check `aws configure list-profiles`"
                    " (and AWS_CONFIG_FILE), or pass -c KEY SECRET")
    add_repo("team", published, "-p", "gone")
    assert "unknown AWS profile 'gone' (from repository 'team')" in info(auth_s3, "-r", "team", env=files, verbose=False).assert_one_line_error()
    env = {**no_env_keys(), **files, "AWS_PROFILE": "nosuch"}
    line = info(auth_s3, "-b", published, env=env, verbose=False).assert_one_line_error()
    assert "unknown AWS profile 'nosuch' (from the AWS default chain ($AWS_PROFILE=nosuch))" in line


def test_missing_credentials_error(auth_s3: AuthS3, published: str) -> None:
    line = info(auth_s3, "-b", published, env=no_env_keys(), verbose=False).assert_one_line_error()
    assert line.startswith("error: no credentials: pass -r/-p/-c or set AWS_PROFILE"), line


def test_incomplete_credentials_errors(auth_s3: AuthS3, published: str) -> None:
    line = info(auth_s3, "-b", published, env={"PIPPER_AWS_ACCESS_KEY_ID": BAD[0]}, verbose=False).assert_one_line_error()
    assert "$PIPPER_AWS_SECRET_ACCESS_KEY is not" in line and BAD[0] not in line
    line = info(auth_s3, "-b", published, "-c", BAD[0], env={}, verbose=False).assert_one_line_error()
    assert "-c/--credentials takes KEY SECRET [TOKEN]" in line and BAD[0] not in line


def test_wrong_secret_error(auth_s3: AuthS3, published: str) -> None:
    result = info(auth_s3, "-b", published, "-c", auth_s3.reader[0], BAD[1], env={}, verbose=False)
    line = result.assert_one_line_error()
    assert "credentials rejected by S3 (SignatureDoesNotMatch)" in line
    assert "[identity: keys AKIA**** from -c/--credentials]" in line
    assert BAD[1] not in result.output and auth_s3.reader[0] not in result.output


class ExpiredTokenServer:
    """An S3 endpoint whose every answer is 400 ExpiredToken (and, like S3, echoes the token in the body)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                token = self.headers.get("x-amz-security-token", "")
                body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>ExpiredToken</Code>'
                        f"<Message>The provided token has expired.</Message><Token-0>{token}</Token-0>"
                        f"<RequestId>R1</RequestId></Error>").encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self._http = LoopbackServer(Handler)
        self.endpoint = self._http.endpoint

    def close(self) -> None:
        self._http.close()


@pytest.fixture
def expired() -> Iterator[ExpiredTokenServer]:
    server = ExpiredTokenServer()
    yield server
    server.close()


def test_expired_token_error(expired: ExpiredTokenServer, tmp_path: Path) -> None:
    key, secret = "AKIAEXPIREDKEY000001", "expiredSecret0000000000000000000000000000"
    for args in (["info", "credpkg"], ["publish", str(make_wheel(tmp_path, "credpkg", "1.0.0"))]):
        result = run_cli(*args, "-b", "s3://some-bucket/p", "--endpoint-url", expired.endpoint,
                         "-c", key, secret, TOKEN, env={"AWS_MAX_ATTEMPTS": "1"})
        line = result.assert_one_line_error()
        assert "expired credentials for s3://some-bucket/p/" in line and "get a fresh one" in line, line
        assert "[identity: keys AKIA**** from -c/--credentials]" in line
        for value in (key, secret, TOKEN, TOKEN[:40]):
            assert value not in result.output


# -- IAM: the policies of docs/iam.md --------------------------------------------------------------


def test_reader_can_install_but_not_publish(auth_s3: AuthS3, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    url = f"s3://{auth_s3.bucket}/iam-{uuid.uuid4().hex[:8]}"
    run_cli("publish", str(make_wheel(tmp_path / "a", "iampkg", "1.0.0", requires=["tinypublic"])), "-b", url,
            env=auth_s3.env(auth_s3.publisher)).assert_ok()
    reader = {**auth_s3.env(auth_s3.reader), **pip_env(public_index)}
    run_cli("install", "iampkg", "-b", url, python=venv.python, env=reader).assert_ok()
    assert venv.has("iampkg") and venv.has("tinypublic")
    result = run_cli("publish", str(make_wheel(tmp_path / "b", "iampkg", "2.0.0")), "-b", url, "-v", env=reader)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.code == 1 and len(errors) == 1
    assert errors[0].startswith(f"error: AccessDenied on {url}/")
    assert "this identity may read but not publish [identity: keys AKIA**** from $AWS_ACCESS_KEY_ID]" in errors[0]
    assert auth_s3.reader[1] not in result.output
    assert "2.0.0" not in run_cli("info", "iampkg", "-b", url, env=reader).assert_ok().stdout


def test_publisher_can_publish_and_install(auth_s3: AuthS3, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    url = f"s3://{auth_s3.bucket}/iam-{uuid.uuid4().hex[:8]}"
    publisher = {**auth_s3.env(auth_s3.publisher), **pip_env(public_index)}
    run_cli("publish", str(make_wheel(tmp_path / "a", "pubpkg", "1.0.0")), "-b", url, env=publisher).assert_ok()
    # --force replaces (and deletes the old wheel): the publisher policy allows it.
    run_cli("publish", str(make_wheel(tmp_path / "b", "pubpkg", "1.0.0", body="X = 2\nVERSION = '1.0.0'\n")),
            "-b", url, "-f", env=publisher).assert_ok()
    run_cli("install", "pubpkg", "-b", url, python=venv.python, env=publisher).assert_ok()
    assert venv.run("import pubpkg; print(pubpkg.X)").stdout.strip() == "2"


# -- secrets never appear ---------------------------------------------------------------------------

LEAK_KEY = "AKIALEAKKEYID7777777"
LEAK_SECRET = "leakSECRETvalue/abc+def0123456789XYZWVU"
LEAK_TOKEN = "IQoJleakTOKENvalue" + "Zz09+/" * 20 + "=="
MARKERS = ("LEAKKEYID", "leakSECRET", "leakTOKEN", LEAK_KEY, LEAK_SECRET, LEAK_TOKEN)


def assert_no_secret(result: Result, what: str, *, presigned_stdout: bool = False) -> None:
    """No marker anywhere; for `authorize` output, stdout may hold the key id and token inside presigned URLs."""
    for marker in MARKERS:
        assert marker not in result.stderr, f"{marker!r} leaked on stderr by {what}:\n{result.stderr}"
        if presigned_stdout and marker not in ("leakSECRET", LEAK_SECRET):
            continue
        assert marker not in result.stdout, f"{marker!r} leaked on stdout by {what}:\n{result.stdout}"
    if presigned_stdout:
        for line in result.stdout.splitlines():  # only inside the signature's own query parameters
            stripped = line.replace(LEAK_KEY, "").replace("leakTOKEN", "")
            assert "X-Amz-Credential=" in line and "X-Amz-Security-Token=" in line and "LEAKKEYID" not in stripped


LEAK_GROUPS = ("repository", "via -c", "via -r", "via default", "via env", "denied", "expired", "other")


@pytest.mark.parametrize("group", LEAK_GROUPS)
def test_no_command_shows_a_secret(group: str, s3_server: S3Server, auth_s3: AuthS3, expired: ExpiredTokenServer,
                                   public_index: PublicIndex, tmp_path: Path) -> None:
    """Every command, with recognizable secrets from -c, the environment and the config, with and without -vvv."""
    bucket = s3_server.new_bucket()
    good = f"s3://{bucket}/leak"  # plain moto: any keys work
    denied = f"s3://{auth_s3.bucket}/leak"  # moto with IAM: these keys are refused
    wheel = make_wheel(tmp_path / "w", "leakpkg", "1.0.0")
    cli_keys = ["-c", LEAK_KEY, LEAK_SECRET, LEAK_TOKEN]
    env_secrets = {"PIPPER_AWS_ACCESS_KEY_ID": LEAK_KEY, "PIPPER_AWS_SECRET_ACCESS_KEY": LEAK_SECRET,
                   "PIPPER_AWS_SESSION_TOKEN": LEAK_TOKEN, "AWS_ACCESS_KEY_ID": LEAK_KEY,
                   "AWS_SECRET_ACCESS_KEY": LEAK_SECRET, "AWS_SESSION_TOKEN": LEAK_TOKEN,
                   "AWS_MAX_ATTEMPTS": "1", **pip_env(public_index)}
    bundle_dir = tmp_path / "bundles"
    good_flags = ["-b", good, "--endpoint-url", s3_server.endpoint]
    adds = [
        ("repository add", ["repository", "add", "leak", *good_flags, *cli_keys, "-d"], 0),
        ("repository add denied", ["repository", "add", "denied", "-b", denied, "--endpoint-url", auth_s3.server.endpoint,
                                   *cli_keys], 0),
        ("repository add expired", ["repository", "add", "expired", "-b", "s3://some-bucket/p",
                                    "--endpoint-url", expired.endpoint, *cli_keys], 0),
    ]
    runs: list[tuple[str, list[str], int | None]] = [("bundle", ["bundle", str(wheel), "-o", str(bundle_dir)], 0), *adds]
    if group == "repository":
        runs += [
            ("repository add duplicate", ["repository", "add", "leak", "-b", good, *cli_keys], 1),
            ("repository add one value", ["repository", "add", "x", "-b", good, "-c", LEAK_KEY], 1),
            ("repository add bad bucket", ["repository", "add", "x", "-b", "Bad_Bucket!", *cli_keys], 1),
            ("repository modify", ["repository", "modify", "leak", *cli_keys], 0),
            ("repository modify unknown", ["repository", "modify", "nope", *cli_keys], 1),
            ("repository list", ["repository", "list"], 0),
            ("repository list --json", ["repository", "list", "--json"], 0),
            ("repository exists", ["repository", "exists", "leak"], 0),
            ("repository exists (no)", ["repository", "exists", "nope"], 1),
            ("repository remove", ["repository", "remove", "leak"], None),
            ("repository remove unknown", ["repository", "remove", "nope"], 1),
        ]
    elif group.startswith("via "):
        extra = {"via -c": [*good_flags, *cli_keys], "via -r": ["-r", "leak"], "via default": [],
                 "via env": good_flags}[group]
        runs += [
            ("publish", ["publish", str(bundle_dir), *extra, "-f"], 0),
            ("info", ["info", "leakpkg", *extra], 0),
            ("download", ["download", "leakpkg", "-d", str(tmp_path / "dl"), *extra], 0),
            ("install", ["install", "leakpkg", "--dry-run", *extra], 0),
            ("info missing", ["info", "nopkg", *extra], 1),
            ("authorize", ["authorize", "leakpkg", *extra], 0),
            ("yank", ["yank", "leakpkg:1.0.0", *extra], None),
            ("unyank", ["unyank", "leakpkg:1.0.0", *extra], None),
            ("verify", ["verify", *extra], None),
            ("reindex", ["reindex", *extra], None),
            ("delete", ["delete", "leakpkg:1.0.0", *extra], None),
        ]
    elif group in ("denied", "expired"):
        runs += [
            ("publish", ["publish", str(bundle_dir), "-r", group], 1),
            ("info", ["info", "leakpkg", "-r", group], 1),
            ("download", ["download", "leakpkg", "-r", group, "-d", str(tmp_path / "dl-x")], 1),
            ("install", ["install", "leakpkg", "-r", group], 1),
            ("authorize", ["authorize", "leakpkg", "-r", group], 1),
            ("yank", ["yank", "leakpkg:1.0.0", "-r", group], 1),
            ("verify", ["verify", "-r", group], 1),
            ("delete", ["delete", "leakpkg:1.0.0", "-r", group], 1),
        ]
    else:
        runs += [
            ("info unknown profile", ["info", "leakpkg", "-b", good, "-p", "nosuch"], 1),
            ("info -c wrong arity", ["info", "leakpkg", "-b", good, "-c", LEAK_KEY], 1),
            ("info unreachable", ["info", "leakpkg", "-b", good, "--endpoint-url", "http://127.0.0.1:9", *cli_keys], 1),
            ("info unknown repository", ["info", "leakpkg", "-r", "nope", *cli_keys], 1),
        ]
    for what, args, code in runs:
        for verbosity in ([], ["-vvv"]):
            if (what, args, code) in adds and verbosity:
                continue  # added once; the -vvv add is checked by the "repository" group's duplicate/modify runs
            result = run_cli(*args, *verbosity, env=env_secrets)
            if code is not None:
                assert result.code == code, f"{what} {verbosity}: exit {result.code}\n{result.output}"
            signed_links = what == "authorize" and result.code == 0
            assert_no_secret(result, f"{group}: {what} {verbosity}", presigned_stdout=signed_links)
            if verbosity and result.code == 0 and what in ("info", "publish"):
                assert "credentials: keys AKIA**** from " in result.stderr, result.stderr
    if group == "repository":
        # -vvv on a successful add, too.
        result = run_cli("repository", "add", "again", *good_flags, *cli_keys, "-vvv", env=env_secrets).assert_ok()
        assert_no_secret(result, "repository add -vvv")
    # The secrets are in the 0600 config file, and only there.
    stored = json.loads((tmp_path / "user-config" / "poetry-pipper" / "config.json").read_text())
    assert stored["repositories"]["denied"]["secret_access_key"] == LEAK_SECRET


def test_misplaced_credentials_are_redacted_from_cleo_errors() -> None:
    """Before the command name, -c is not an option; cleo's "command ... does not exist" must not echo the key."""
    result = run_cli("-c", LEAK_KEY, LEAK_SECRET, "info", "pkg")
    assert result.code != 0 and "AKIA****" in result.stderr
    assert_no_secret(result, "misplaced -c")


def test_sdk_debug_logging_shows_no_secret(s3_server: S3Server) -> None:
    """Even with the root logger at DEBUG (as Poetry's -vvv does), botocore's request dumps stay off."""
    from poetry_pipper.location import parse_location
    from poetry_pipper.storage import open_storage

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    saved = {name: logging.getLogger(name).level for name in ("botocore", "boto3", "s3transfer", "urllib3")}
    try:
        for name in saved:
            logging.getLogger(name).setLevel(logging.NOTSET)
        bucket = s3_server.new_bucket()
        storage = open_storage(parse_location(f"s3://{bucket}/p", endpoint_url=s3_server.endpoint),
                               Credentials(LEAK_KEY, LEAK_SECRET, LEAK_TOKEN, source="test"))
        storage.put("x.json", b"{}")
        assert storage.get("x.json") is not None
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
    for marker in MARKERS:
        assert marker not in stream.getvalue()
