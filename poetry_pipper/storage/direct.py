"""The read path without boto3: signed GETs on kept-alive connections, standard library only.

Importing boto3 and creating an S3 client costs about 0.2 s per process, more than a whole
resolution over a fast network. Reading needs none of it when the identity is a key pair that
pipper resolved itself (``-c``, a named repository's keys, Poetry's http-basic, ``PIPPER_AWS_*``
or ``AWS_*`` keys; docs/credentials.md): :class:`DirectReader` sends the GET, signed by
:mod:`.sigv4`, on a pool of kept-alive HTTP/1.1 connections shared by every thread.

It only ever answers what it is sure of: 200 (the object) and 404 ``NoSuchKey`` (absent). Anything
else -- another status, a broken connection, a body cut short -- raises :class:`Unsure` and the
caller asks boto3 (:class:`~poetry_pipper.storage.s3.S3Storage`), whose retries, region redirects
and error messages then apply unchanged. :func:`direct_endpoint` returns None (boto3 does
everything, as before) wherever botocore could send a request elsewhere or differently than this
module would: a profile or the AWS default chain as identity, proxies, a custom CA bundle, FIPS
or dual-stack endpoints, another partition, or an AWS config file with settings beyond the region.
"""

from __future__ import annotations

import http.client
import os
import re
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import urlsplit

from ..background import NoThread, run_in_background
from ..credentials import Credentials
from ..location import Location
from .sigv4 import Keys, quote_path, sign

CONNECT_TIMEOUT = 10  # botocore's, as S3Storage configures it
READ_TIMEOUT = 60
MAX_IDLE = 32  # S3Storage's max_pool_connections
_CHUNK = 1024 * 1024
_STANDARD_REGION = re.compile(r"^(?:af|ap|ca|eu|il|me|mx|sa|us)-[a-z]+-\d$")
#: Settings of an AWS config profile that cannot change where or how a GET made with explicit keys goes.
_HARMLESS = frozenset({
    "region", "output", "cli_pager", "cli_auto_prompt", "cli_timestamp_format", "cli_binary_format",
    "cli_follow_urlparam", "cli_history", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
    "role_arn", "source_profile", "credential_source", "credential_process", "mfa_serial", "role_session_name",
    "external_id", "duration_seconds", "web_identity_token_file", "sso_session", "sso_start_url", "sso_region",
    "sso_account_id", "sso_role_name", "sso_registration_scopes", "max_attempts", "retry_mode",
    "metadata_service_timeout", "metadata_service_num_attempts", "parameter_validation", "tcp_keepalive",
})
#: Keys of a profile's nested ``s3 =`` block that only the CLI's transfers or pipper's own settings decide.
_HARMLESS_S3 = frozenset({
    "max_concurrent_requests", "max_queue_size", "multipart_threshold", "multipart_chunksize", "max_bandwidth",
    "addressing_style", "payload_signing_enabled", "preferred_transfer_client", "target_bandwidth",
})
_ENDPOINT_CHANGERS = ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT")


class Unsure(Exception):
    """The direct read cannot tell: ask boto3."""


@dataclass(frozen=True)
class Endpoint:
    """Where the GETs of one bucket go, and how they are signed."""

    scheme: str
    hostname: str
    port: int
    host: str  # the Host header: with the port only when it is not the scheme's default
    base: str  # "/bucket" (path style) or "" (virtual-hosted)
    region: str
    ca_bundle: str | None = None  # $AWS_CA_BUNDLE, as botocore takes it

    def path(self, key: str) -> str:
        return quote_path(f"{self.base}/{key}")


def direct_endpoint(location: Location, credentials: Credentials, env: Mapping[str, str] | None = None) -> Endpoint | None:
    """The endpoint of :class:`DirectReader` for this repository, or None where boto3 must do the reads."""
    env = os.environ if env is None else env
    if location.bucket is None or not credentials.access_key_id or credentials.profile:
        return None
    if any(env.get(name) for name in _ENDPOINT_CHANGERS) or any(k.lower().endswith("_proxy") and v for k, v in env.items()):
        return None
    profile = _profile_settings(env)
    if profile is None:
        return None
    region = location.region or env.get("AWS_DEFAULT_REGION") or profile.get("region") or "us-east-1"
    bucket = location.bucket
    if location.endpoint_url:
        parts = urlsplit(location.endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query \
                or parts.username:
            return None
        return _endpoint(parts.scheme, parts.hostname, parts.port, f"/{bucket}", region, env)
    if not _STANDARD_REGION.match(region) or region.startswith("us-gov"):
        return None  # China, GovCloud, ISO partitions: other domains and rules
    if "." in bucket:  # a dotted name does not match the certificate of a virtual host: botocore goes path style
        return _endpoint("https", f"s3.{region}.amazonaws.com", None, f"/{bucket}", region, env)
    return _endpoint("https", f"{bucket}.s3.{region}.amazonaws.com", None, "", region, env)


def _endpoint(scheme: str, hostname: str, port: int | None, base: str, region: str,
              env: Mapping[str, str]) -> Endpoint:
    default = 443 if scheme == "https" else 80
    shown = f"[{hostname}]" if ":" in hostname else hostname
    host = shown if port in (None, default) else f"{shown}:{port}"
    return Endpoint(scheme, hostname, port or default, host, base, region, env.get("AWS_CA_BUNDLE") or None)


def _profile_settings(env: Mapping[str, str]) -> dict[str, str] | None:
    """The settings of the AWS config profile botocore would use; None if any could change a GET."""
    import configparser

    path = Path(env.get("AWS_CONFIG_FILE") or "~/.aws/config").expanduser()
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    parser = configparser.RawConfigParser()
    try:
        if not parser.read(path):
            return {} if profile == "default" else None  # botocore refuses an unknown profile
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    section = "default" if profile == "default" else f"profile {profile}"
    if not parser.has_section(section):
        return {} if profile == "default" else None
    settings = dict(parser.items(section))
    nested = {line.split("=", 1)[0].strip() for line in settings.pop("s3", "").splitlines() if "=" in line}
    if set(settings) - _HARMLESS or nested - _HARMLESS_S3:
        return None
    return settings


def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Certificates checked against what botocore uses: $AWS_CA_BUNDLE (a file or a directory), else
    certifi's bundle if installed, else the one botocore ships."""
    if ca_bundle and Path(ca_bundle).is_dir():
        return ssl.create_default_context(capath=ca_bundle)
    return ssl.create_default_context(cafile=ca_bundle or _default_ca_file())


def _default_ca_file() -> str | None:
    try:
        import certifi

        return str(certifi.where())
    except ImportError:
        pass
    import importlib.util

    spec = importlib.util.find_spec("botocore")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        bundle = Path(folder) / "cacert.pem"
        if bundle.is_file():
            return str(bundle)
    return None


class DirectReader:
    """Signed GETs of one bucket over a pool of kept-alive connections; thread-safe."""

    def __init__(self, endpoint: Endpoint, keys: Keys) -> None:
        self.endpoint = endpoint
        self.keys = keys
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        self._ahead: dict[str, Future[tuple[bytes, str, str] | None]] = {}

    def get_ahead(self, key: str) -> None:
        """Send the GET of ``key`` now, on a thread of its own; the next :meth:`get` of it takes the
        answer (once). For the first requests of a process, before the code that parses them is loaded."""
        future: Future[tuple[bytes, str, str] | None] = Future()
        with self._lock:
            if key in self._ahead:
                return
            self._ahead[key] = future
        run_in_background(future, "pipper-ahead", lambda: self._get(key))

    def _connect(self) -> http.client.HTTPConnection:
        e = self.endpoint
        if e.scheme == "http":
            return http.client.HTTPConnection(e.hostname, e.port, timeout=CONNECT_TIMEOUT)
        with self._lock:
            if self._tls is None:
                self._tls = _tls_context(e.ca_bundle)
            context = self._tls
        return http.client.HTTPSConnection(e.hostname, e.port, timeout=CONNECT_TIMEOUT, context=context)

    def _take(self, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle and not fresh:
                return self._idle.pop(), True
        return self._connect(), False

    def _give_back(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        with self._lock:
            if not response.will_close and len(self._idle) < MAX_IDLE:
                self._idle.append(connection)
                return
        connection.close()

    def _send(self, key: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send a signed GET; a kept-alive connection the server has closed meanwhile is replaced once."""
        from .. import __version__

        path = self.endpoint.path(key)
        for attempt in range(2):
            connection, reused = self._take(fresh=attempt > 0)
            headers = sign("GET", self.endpoint.host, path, self.keys, self.endpoint.region)
            headers["user-agent"] = f"poetry-pipper/{__version__}"
            try:
                connection.request("GET", path, headers=headers)
                if connection.sock is not None:
                    connection.sock.settimeout(READ_TIMEOUT)
                return connection, connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if not reused:
                    raise Unsure(str(exc)) from None
        raise AssertionError("unreachable: the second attempt uses a new connection")

    @contextmanager
    def _response(self, key: str) -> Iterator[http.client.HTTPResponse]:
        """A GET's response, read by the caller; the connection goes back to the pool afterwards."""
        connection, response = self._send(key)
        with _closed_on_error(connection):
            yield response
            response.read()  # what the caller left (an error body), so the connection can be reused
        self._give_back(connection, response)

    def get(self, key: str) -> tuple[bytes, str, str] | None:
        """The object's bytes, ETag and Content-Type; None if it does not exist."""
        with self._lock:
            ahead = self._ahead.pop(key, None)
        if ahead is not None:
            try:
                return ahead.result()
            except NoThread:  # the GET was never sent: send it here
                pass
        return self._get(key)

    def _get(self, key: str) -> tuple[bytes, str, str] | None:
        with self._response(key) as response:
            if response.status == 200:
                return response.read(), response.getheader("ETag") or "", response.getheader("Content-Type") or ""
            _absent(response)
        return None

    def download(self, key: str, write: Callable[[bytes], None]) -> bool:
        """Stream the object to ``write`` in chunks; False if it does not exist."""
        with self._response(key) as response:
            if response.status != 200:
                _absent(response)
                return False
            expected = response.getheader("Content-Length")
            received = 0
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                write(chunk)
            if expected is not None and str(received) != expected.strip():
                raise Unsure(f"body cut short ({received} of {expected} bytes)")
        return True

    def open(self, key: str) -> tuple[BinaryIO, int] | None:
        """The object as a stream and its size (its connection is closed with it); None if absent."""
        connection, response = self._send(key)
        with _closed_on_error(connection):
            length = response.getheader("Content-Length")
            if response.status == 200 and length is not None and length.strip().isdigit():
                return cast(BinaryIO, response), int(length)
            if response.status == 200:
                raise Unsure("no Content-Length")
            _absent(response)
        connection.close()
        return None


@contextmanager
def _closed_on_error(connection: http.client.HTTPConnection) -> Iterator[None]:
    """Close the connection if the block fails; a transport error becomes :class:`Unsure` (boto3 reads again)."""
    try:
        yield
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        raise Unsure(str(exc)) from None
    except BaseException:
        connection.close()
        raise


def _absent(response: http.client.HTTPResponse) -> None:
    """Return for a 404 NoSuchKey; anything else is for boto3 to tell."""
    if response.status == 404:
        body = response.read(64 * 1024)
        if b"<Code>NoSuchKey</Code>" in body:
            return
    raise Unsure(f"HTTP {response.status}")


_READERS: dict[tuple[Endpoint, Keys], DirectReader] = {}
_READERS_LOCK = threading.Lock()


def direct_reader(location: Location, credentials: Credentials | None) -> DirectReader | None:
    """The shared reader of this bucket and identity, or None where boto3 must read."""
    if credentials is None or not credentials.access_key_id or not credentials.secret_access_key:
        return None
    endpoint = direct_endpoint(location, credentials)
    if endpoint is None:
        return None
    keys = Keys(credentials.access_key_id, credentials.secret_access_key, credentials.session_token)
    with _READERS_LOCK:
        reader = _READERS.get((endpoint, keys))
        if reader is None:
            reader = _READERS[endpoint, keys] = DirectReader(endpoint, keys)
        return reader
