"""The read path without boto3 (storage/direct.py): signed GETs on kept-alive connections, and boto3 for
everything it is not sure of. Signatures are checked by moto in IAM mode (``auth_s3``)."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from poetry_pipper.credentials import Credentials
from poetry_pipper.location import Location, parse_location
from poetry_pipper.storage import open_storage
from poetry_pipper.storage.direct import DirectReader, direct_endpoint
from poetry_pipper.storage.sigv4 import Keys, quote_path, sign

from .helpers import LoopbackServer, make_wheel, run_cli
from .servers import AuthS3, S3Server

KEYS = Credentials("AKIDEXAMPLE", "secret", source="test")
NO_CONFIG = {"AWS_CONFIG_FILE": "/nonexistent"}


def test_signatures_are_botocore_s() -> None:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    for token in (None, "FwoG/x+y="):
        keys = Keys("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
        path = quote_path("/bucket/pre fix/packages/a-b/files/0123/a_b-1.0+local.7-py3-none-any.whl")
        mine = sign("GET", "127.0.0.1:9000", path, keys, "eu-west-1", now=now)
        theirs = AWSRequest(method="GET", url=f"http://127.0.0.1:9000{path}",
                            headers={"x-amz-content-sha256": mine["x-amz-content-sha256"]})
        S3SigV4Auth(BotoCredentials(keys.access_key_id, keys.secret_access_key, token), "s3", "eu-west-1").add_auth(theirs)
        # botocore stamps its own time: sign again with it
        stamp = datetime.datetime.strptime(theirs.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        mine = sign("GET", "127.0.0.1:9000", path, keys, "eu-west-1", now=stamp)
        assert mine["authorization"] == theirs.headers["Authorization"]


@pytest.mark.parametrize(("location", "env", "expected"), [
    (Location("b", "p", endpoint_url="http://127.0.0.1:9000"), NO_CONFIG, ("http", "127.0.0.1:9000", "/b", "us-east-1")),
    (Location("b", "p", endpoint_url="https://minio.example:443"), {**NO_CONFIG, "AWS_DEFAULT_REGION": "eu-west-3"},
     ("https", "minio.example", "/b", "eu-west-3")),
    (Location("bucket", region="eu-west-1"), NO_CONFIG, ("https", "bucket.s3.eu-west-1.amazonaws.com", "", "eu-west-1")),
    (Location("dotted.bucket"), NO_CONFIG, ("https", "s3.us-east-1.amazonaws.com", "/dotted.bucket", "us-east-1")),
    (Location("b", endpoint_url="http://[::1]:9000"), NO_CONFIG, ("http", "[::1]:9000", "/b", "us-east-1")),
])
def test_where_direct_reads_go(location: Location, env: dict[str, str], expected: tuple[str, ...]) -> None:
    endpoint = direct_endpoint(location, KEYS, env)
    assert endpoint is not None
    assert (endpoint.scheme, endpoint.host, endpoint.base, endpoint.region) == expected


@pytest.mark.parametrize(("credentials", "location", "env"), [
    (Credentials(profile="team"), Location("b"), NO_CONFIG),  # a profile: the AWS chain is boto3's
    (Credentials(), Location("b"), NO_CONFIG),
    (KEYS, Location("b"), {**NO_CONFIG, "HTTPS_PROXY": "http://proxy:3128"}),
    (KEYS, Location("b"), {**NO_CONFIG, "AWS_USE_FIPS_ENDPOINT": "true"}),
    (KEYS, Location("b", region="cn-north-1"), NO_CONFIG),
    (KEYS, Location("b", region="us-gov-west-1"), NO_CONFIG),
    (KEYS, Location("b", endpoint_url="http://host:9000/path"), NO_CONFIG),
    (KEYS, Location("b"), {"AWS_CONFIG_FILE": "/nonexistent", "AWS_PROFILE": "nosuch"}),  # boto3 says "unknown profile"
])
def test_boto3_reads_where_it_could_differ(credentials: Credentials, location: Location, env: dict[str, str]) -> None:
    assert direct_endpoint(location, credentials, env) is None


def test_an_aws_config_file_beyond_the_region_leaves_reads_to_boto3(tmp_path: Path) -> None:
    config = tmp_path / "config"
    env = {"AWS_CONFIG_FILE": str(config)}
    config.write_text("[default]\nregion = eu-central-1\noutput = json\ns3 =\n  max_concurrent_requests = 20\n")
    endpoint = direct_endpoint(Location("b"), KEYS, env)
    assert endpoint is not None and endpoint.region == "eu-central-1"
    for extra in ("s3 =\n  use_accelerate_endpoint = true\n", "ca_bundle = /etc/ca.pem\n", "endpoint_url = http://x\n"):
        config.write_text(f"[default]\nregion = eu-central-1\n{extra}")
        assert direct_endpoint(Location("b"), KEYS, env) is None, extra


WRITING = ("poetry_pipper.cas", "poetry_pipper.pages", "poetry_pipper.download", "poetry_pipper.truth",
           "poetry_pipper.resolve")


def reads_without_boto3(env: dict[str, str], url: str) -> list[str]:
    """Run a read in a fresh process: what it printed, then the boto3 modules it imported, then which of
    the modules a read never needs (writing, pages, downloads, pipper's own resolver) it imported."""
    code = ("import os, sys\n"
            "from poetry_pipper.access import Options, resolve_access\n"
            "from poetry_pipper.repository import open_repository\n"
            f"access = resolve_access(Options(bucket={url!r}))\n"
            "repo = open_repository(access.location, access.credentials)\n"
            "print(type(repo.storage).__name__, sorted(repo.require_index('direct-pkg').releases),"
            " repo.package_index('nosuch', legacy=False))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
            f"print(sorted(m for m in sys.modules if m in {WRITING!r}))\n")
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env, **NO_CONFIG}, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_reads_are_signed_and_need_no_boto3(auth_s3: AuthS3, tmp_path: Path) -> None:
    url = f"s3://{auth_s3.bucket}/direct"
    run_cli("publish", str(make_wheel(tmp_path, "direct-pkg", "1.0")), "-b", url,
            env=auth_s3.env(auth_s3.publisher)).assert_ok()
    key, secret, token = auth_s3.reader_session
    for env in (auth_s3.env(auth_s3.reader),
                {"AWS_ENDPOINT_URL": auth_s3.server.endpoint, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
                 "AWS_SESSION_TOKEN": token}):
        assert reads_without_boto3(env, url) == ["S3DirectStorage ['1.0'] None", "[]", "[]"]


def test_what_the_direct_path_is_unsure_of_boto3_answers(auth_s3: AuthS3, s3_server: S3Server) -> None:
    """A refusal, a missing bucket: the direct GET hands over, and the error is boto3's, word for word."""
    bucket = f"s3://{auth_s3.bucket}/direct"
    line = run_cli("info", "x", "-b", bucket, env=auth_s3.env(auth_s3.outsider)).assert_one_line_error()
    assert "AccessDenied" in line
    env = {"AWS_ENDPOINT_URL": s3_server.endpoint, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    line = run_cli("info", "x", "-b", "s3://no-such-bucket-here/p", env=env).assert_one_line_error()
    assert "bucket 'no-such-bucket-here' does not exist" in line


class _Closing(BaseHTTPRequestHandler):
    """Answers every GET (HTTP/1.1, no "Connection: close"), then drops the connection anyway, as a
    server does with a connection that stayed idle too long."""

    protocol_version = "HTTP/1.1"
    served = 0

    def do_GET(self) -> None:
        type(self).served += 1
        body = b"{}"
        self.send_response(200)
        self.send_header("ETag", '"e"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def closing_server() -> Iterator[str]:
    server = LoopbackServer(_Closing)
    yield server.endpoint
    server.close()


def test_a_connection_the_server_closed_is_replaced(closing_server: str) -> None:
    endpoint = direct_endpoint(parse_location("s3://bucket/p", endpoint_url=closing_server), KEYS, NO_CONFIG)
    assert endpoint is not None
    reader = DirectReader(endpoint, Keys("AKIDEXAMPLE", "secret"))
    assert [reader.get("p/x.json") for _ in range(3)] == [(b"{}", '"e"', "")] * 3
    assert _Closing.served == 3


def test_keys_from_the_environment_open_the_direct_storage(s3_server: S3Server) -> None:
    from poetry_pipper.storage.s3direct import S3DirectStorage

    bucket = s3_server.new_bucket()
    location = parse_location(f"s3://{bucket}/p", endpoint_url=s3_server.endpoint)
    storage = open_storage(location, Credentials("k", "s", source="test"))
    assert isinstance(storage, S3DirectStorage)
    storage.put("a/b+c.json", b'{"x": 1}', content_type="application/json")  # boto3
    blob = storage.get("a/b+c.json")  # direct: a key with characters that are encoded
    assert blob is not None and blob.data == b'{"x": 1}' and blob.etag.startswith('"')
    assert blob.content_type == "application/json"
    assert storage.get("a/missing.json") is None
    stream, size = storage.open_stream("a/b+c.json")
    assert size == 8 and stream.read() == b'{"x": 1}'
    stream.close()


def test_a_get_sent_ahead_without_a_thread_is_sent_when_asked(closing_server: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """No thread to be had for a GET sent ahead: get_ahead() does not fail, and get() sends it itself
    (it used to wait forever for a GET that never left)."""
    import threading

    endpoint = direct_endpoint(parse_location("s3://bucket/p", endpoint_url=closing_server), KEYS, NO_CONFIG)
    assert endpoint is not None
    reader = DirectReader(endpoint, Keys("AKIDEXAMPLE", "secret"))
    served = _Closing.served

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    with monkeypatch.context() as patched:
        patched.setattr(threading.Thread, "start", refuse)
        reader.get_ahead("p/x.json")
    assert _Closing.served == served  # nothing was sent
    assert reader.get("p/x.json") == (b"{}", '"e"', "")
    assert _Closing.served == served + 1
