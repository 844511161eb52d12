"""S3 and S3-compatible storage through boto3.

One boto3 client per (credentials, endpoint, region), shared across threads: clients are
thread-safe, sessions are not, so sessions are only touched under a lock while building one.
Retries use botocore's ``standard`` mode unless ``AWS_RETRY_MODE`` says ``adaptive``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

import boto3
import botocore.exceptions
import urllib3.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from ..credentials import Credentials
from ..errors import CredentialsError, NotFound, PipperError, PreconditionFailed, StorageError
from ..location import Location
from ..retry import retry
from .base import Blob, Listing, Progress

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_CLIENTS: dict[tuple[Any, ...], S3Client] = {}
_LOCK = threading.Lock()
_CHUNK = 1024 * 1024
T = TypeVar("T")
MULTIPART_THRESHOLD = 16 * 1024 * 1024
MAX_POOL = 32


def client_for(location: Location, credentials: Credentials) -> S3Client:
    """The shared client for this identity and endpoint."""
    cache_key = (credentials.cache_key, location.endpoint_url, location.region)
    with _LOCK:
        client = _CLIENTS.get(cache_key)
        if client is None:
            client = _new_client(location, credentials)
            _CLIENTS[cache_key] = client
        return client


def _quiet_sdk_loggers() -> None:
    """botocore logs request headers (the session token, the signature) at DEBUG: never let it."""
    import logging

    for name in ("botocore", "boto3", "s3transfer", "urllib3"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


def unknown_profile(profile: str | None, credentials: Credentials) -> CredentialsError:
    return CredentialsError(
        f"unknown AWS profile {profile!r} (from {credentials.source}): check `aws configure list-profiles`"
        " (and AWS_CONFIG_FILE), or pass -c KEY SECRET"
    )


def _new_client(location: Location, credentials: Credentials) -> S3Client:
    _quiet_sdk_loggers()
    try:
        session = boto3.session.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            profile_name=credentials.profile,
        )
    except botocore.exceptions.ProfileNotFound as exc:
        raise unknown_profile(exc.kwargs.get("profile") or credentials.profile, credentials) from None
    config = Config(
        signature_version="s3v4",
        retries=cast(
            "Any",
            {
                "mode": os.environ.get("AWS_RETRY_MODE", "standard"),
                "total_max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS", "5")),
            },
        ),
        s3={"addressing_style": "path" if location.endpoint_url else "auto"},
        max_pool_connections=MAX_POOL,
        connect_timeout=10,
        read_timeout=60,
    )
    region = location.region or session.region_name or "us-east-1"
    return session.client("s3", endpoint_url=location.endpoint_url, region_name=region, config=config)


def translate(exc: Exception, location: Location, key: str, action: str) -> PipperError:
    """Turn a botocore failure into one line that says what to do."""
    where = location.key_url(key) if key else location.url
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return CredentialsError(
            "no credentials: pass -r/-p/-c or set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
    if isinstance(exc, SSO_ERRORS):
        return CredentialsError(
            "expired or missing SSO login: run `aws sso login` (with --profile if you use one) and retry"
        )
    if isinstance(exc, botocore.exceptions.CredentialRetrievalError):
        return CredentialsError(
            "could not get credentials from the AWS default chain (credential_process, container or instance role):"
            " check the profile's settings, or pass -r/-p/-c"
        )
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        endpoint = location.endpoint_url or "the AWS S3 endpoint"
        return StorageError(f"cannot reach {endpoint} for {where}: check --endpoint-url/AWS_ENDPOINT_URL and the network")
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return StorageError(
                f"bucket {location.bucket!r} does not exist ({location.url}): check the repository URL"
                " (-b, -r or the Poetry source url) and the endpoint, or create the bucket"
            )
        if code in ("AccessDenied", "403", "AllAccessDisabled") or (status == 403 and code not in (
            "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "RequestTimeTooSkewed"
        )):
            verb = {"read": "read", "write": "publish to", "list": "list", "delete": "delete from"}.get(action, action)
            hint = " this identity may read but not publish" if action in ("write", "delete") else " check the IAM policy (docs/iam.md)"
            return CredentialsError(f"AccessDenied on {where}: cannot {verb} it;{hint}")
        if code in ("ExpiredToken", "TokenRefreshRequired", "ExpiredTokenException"):
            return CredentialsError(
                f"expired credentials for {where}: the session token has expired; get a fresh one"
                " (e.g. `aws sso login`, or a new -c KEY SECRET TOKEN) and retry"
            )
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"):
            return CredentialsError(f"credentials rejected by S3 ({code}) for {where}: check the key id and secret, or the profile")
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"):
            return StorageError(f"bucket {location.bucket!r} is in another region ({code}): pass --region")
        message = str(error.get("Message", "")) or code
        return StorageError(f"S3 refused to {action} {where}: {code}: {message}")
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return unknown_profile(exc.kwargs.get("profile"), Credentials())
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return StorageError(f"S3 request for {where} failed: {exc}")
    raise exc


SSO_ERRORS = (
    botocore.exceptions.SSOTokenLoadError,
    botocore.exceptions.UnauthorizedSSOTokenError,
    botocore.exceptions.TokenRetrievalError,
    botocore.exceptions.SSOError,
)


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


_RETRYABLE_STREAM = (
    botocore.exceptions.ResponseStreamingError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.IncompleteReadError,
    urllib3.exceptions.ProtocolError,  # an error reply's body cut off (botocore reads it unguarded)
    botocore.exceptions.FlexibleChecksumError,  # the body was damaged in transit (CRC check)
    ConnectionError,
)
#: botocore reads the reply body of non-streaming calls (PutObject, DeleteObject, ListObjectsV2,
#: CompleteMultipartUpload) outside its retry handler: a connection reset there escapes raw.
_BROKEN_REPLY = (urllib3.exceptions.ProtocolError, ConnectionError)
_CALL_ATTEMPTS = 3


def _retry_broken_reply(call: Callable[[], T], where: str) -> T:
    """Run a call again when its reply was cut off (the same call botocore itself retries)."""
    return retry(call, attempts=_CALL_ATTEMPTS, on=_BROKEN_REPLY,
                 give_up=lambda _exc: StorageError(f"the connection to S3 kept breaking for {where}: retry later"))


class S3Storage:
    def __init__(self, location: Location, credentials: Credentials | None = None) -> None:
        assert location.bucket is not None
        self.location = location
        self.credentials = credentials or Credentials()
        self.bucket = location.bucket
        self._client: S3Client | None = None

    @property
    def client(self) -> S3Client:
        if self._client is None:
            try:
                self._client = client_for(self.location, self.credentials)
            except botocore.exceptions.BotoCoreError as exc:
                raise translate(exc, self.location, "", "connect") from None
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.location.prefix}/{key}" if self.location.prefix else key

    def _reading(self, call: Callable[[], T], key: str, what: str) -> T:
        """A GET retried when its body breaks mid-transfer (botocore retries only before the body)."""
        try:
            return retry(call, attempts=_CALL_ATTEMPTS, on=_RETRYABLE_STREAM, give_up=lambda _exc: StorageError(
                f"{what} {self.location.key_url(key)} kept failing mid-transfer: retry later"))
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                raise NotFound(f"{self.location.key_url(key)} does not exist") from None
            raise translate(exc, self.location, key, "read") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise translate(exc, self.location, key, "read") from None

    def get(self, key: str) -> Blob | None:
        def read() -> Blob:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return Blob(response["Body"].read(), response["ETag"], response.get("ContentType", ""))

        try:
            return self._reading(read, key, "reading")
        except NotFound:
            return None

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        cache_control: str | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> str:
        extra: dict[str, Any] = {}
        if cache_control:
            extra["CacheControl"] = cache_control
        if if_none_match:
            extra["IfNoneMatch"] = "*"
        if if_match is not None:
            extra["IfMatch"] = if_match
        try:
            response = _retry_broken_reply(lambda: self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type, **extra
            ), self.location.key_url(key))
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                raise PreconditionFailed(key) from None
            if if_match is not None and _code(exc) in ("NoSuchKey", "404"):
                raise PreconditionFailed(key) from None
            raise translate(exc, self.location, key, "write") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise translate(exc, self.location, key, "write") from None
        return response["ETag"]

    def upload(
        self, key: str, path: Path, *, size: int, progress: Progress | None = None, cache_control: str | None = None
    ) -> None:
        config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD, max_concurrency=8)
        extra = {"CacheControl": cache_control} if cache_control else None
        try:
            _retry_broken_reply(
                lambda: self.client.upload_file(str(path), self.bucket, self._key(key), Config=config, Callback=progress,
                                                ExtraArgs=extra),
                self.location.key_url(key),
            )
        except botocore.exceptions.ClientError as exc:
            raise translate(exc, self.location, key, "write") from None
        except boto3.exceptions.S3UploadFailedError as exc:
            cause = exc.__context__
            if isinstance(cause, botocore.exceptions.ClientError | botocore.exceptions.BotoCoreError):
                raise translate(cause, self.location, key, "write") from None
            raise StorageError(f"upload of {self.location.key_url(key)} failed: {exc}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise translate(exc, self.location, key, "write") from None

    def download(self, key: str, dest: Path, *, progress: Progress | None = None) -> None:
        def read() -> None:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            with open(dest, "wb") as out:
                for chunk in response["Body"].iter_chunks(_CHUNK):
                    out.write(chunk)
                    if progress:
                        progress(len(chunk))

        self._reading(read, key, "download of")

    def open_stream(self, key: str) -> tuple[BinaryIO, int]:
        def open_body() -> tuple[BinaryIO, int]:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return cast(BinaryIO, response["Body"]), int(response["ContentLength"])

        return self._reading(open_body, key, "reading")

    def exists(self, key: str) -> bool:
        try:
            _retry_broken_reply(lambda: self.client.head_object(Bucket=self.bucket, Key=self._key(key)),
                                self.location.key_url(key))
            return True
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise translate(exc, self.location, key, "read") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise translate(exc, self.location, key, "read") from None

    def list(self, prefix: str) -> Iterator[str]:
        root = self._key("")

        def listing() -> list[str]:
            paginator = self.client.get_paginator("list_objects_v2")
            return [
                item["Key"][len(root):]
                for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix))
                for item in page.get("Contents", [])
            ]

        try:
            yield from _retry_broken_reply(listing, self.location.key_url(prefix))
        except botocore.exceptions.ClientError as exc:
            raise translate(exc, self.location, prefix, "list") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise translate(exc, self.location, prefix, "list") from None

    def list_dir(self, prefix: str) -> Listing:
        base = self._key(prefix)

        def listing() -> Listing:
            folders: list[str] = []
            names: list[str] = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base, Delimiter="/"):
                folders += [p["Prefix"][len(base):].rstrip("/") for p in page.get("CommonPrefixes", [])]
                names += [item["Key"][len(base):] for item in page.get("Contents", [])]
            return sorted(f for f in folders if f), sorted(n for n in names if n)

        try:
            return _retry_broken_reply(listing, self.location.key_url(prefix))
        except botocore.exceptions.ClientError as exc:
            raise translate(exc, self.location, prefix, "list") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise translate(exc, self.location, prefix, "list") from None

    def delete(self, key: str) -> None:
        try:
            _retry_broken_reply(lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key)),
                                self.location.key_url(key))
        except botocore.exceptions.ClientError as exc:
            raise translate(exc, self.location, key, "delete") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise translate(exc, self.location, key, "delete") from None

    def url_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def presign(self, key: str, expires_in: int) -> str:
        try:
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires_in
            )
        except botocore.exceptions.BotoCoreError as exc:
            raise translate(exc, self.location, key, "presign") from None
