"""Where a repository lives: an S3 bucket and prefix, or a local directory with the same layout."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlparse

from .errors import PipperError

DEFAULT_PREFIX = "pipper"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_URL = 2048


@dataclass(frozen=True)
class Location:
    """A repository root. Exactly one of ``bucket`` or ``path`` is set."""

    bucket: str | None = None
    prefix: str = ""
    path: Path | None = None
    endpoint_url: str | None = None
    region: str | None = None

    @property
    def is_local(self) -> bool:
        return self.path is not None

    @property
    def url(self) -> str:
        if self.path is not None:
            return self.path.as_uri()
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key_url(self, key: str) -> str:
        """A readable URL for one object, for messages."""
        return f"{self.url.rstrip('/')}/{key}"

    def with_endpoint(self, endpoint_url: str | None, region: str | None) -> Location:
        return replace(
            self, endpoint_url=endpoint_url or self.endpoint_url, region=region or self.region
        )

    def __str__(self) -> str:
        return self.url


def _check_bucket(bucket: str, given: str) -> str:
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise PipperError(
            f"invalid bucket {given!r}: S3 bucket names are 3-63 lowercase letters, digits, '.' or '-';"
            " for a local directory repository pass a path (./repo) or file:///abs/dir"
        )
    return bucket


def check_endpoint(url: str, what: str = "S3 endpoint (--endpoint-url, $AWS_ENDPOINT_URL or a repository's endpoint_url)") -> str:
    """An S3 endpoint: ``http(s)://host[:port][/path]``, nothing else (botocore fails obscurely on the rest)."""
    try:
        parsed = urlparse(url)
        port = parsed.port  # a port that is not a number raises here
    except ValueError:
        parsed, port = None, None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname or _CONTROL.search(url) \
            or parsed.query or parsed.fragment or len(url) > MAX_URL:
        raise PipperError(
            f"invalid {what} {url[:200]!r}: use an http(s) URL such as https://minio.example.com:9000"
        )
    del port
    return url


def check_region(region: str, what: str = "region (--region or a repository's region)") -> str:
    """An AWS region name (us-east-1, eu-central-1, or an S3-compatible server's own name)."""
    if not _REGION.match(region):
        raise PipperError(f"invalid {what} {region[:100]!r}: use a region name such as us-east-1")
    return region


def parse_location(text: str, *, endpoint_url: str | None = None, region: str | None = None) -> Location:
    """Parse ``-b/--bucket``: a bare bucket name, ``s3://bucket[/prefix]``, ``file:///dir`` or a path.

    A bare bucket name gets the original pipper's default prefix ``pipper``; ``s3://bucket``
    with no path means the bucket's root.
    """
    raw = text.strip()
    if not raw:
        raise PipperError("empty repository location: pass -b s3://bucket/prefix, a bucket name or a directory")
    if _CONTROL.search(raw) or len(raw) > MAX_URL:
        raise PipperError(
            f"invalid repository location {raw[:200]!r}: it holds control characters or is over {MAX_URL}"
            " characters long; pass s3://bucket/prefix, a bucket name or a directory"
        )
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    if endpoint_url:
        check_endpoint(endpoint_url)
    if region:
        check_region(region)
    if raw.startswith("s3://"):
        parsed = urlparse(raw)
        bucket = _check_bucket(parsed.netloc, raw)
        prefix = parsed.path.strip("/")
        return Location(bucket=bucket, prefix=prefix, endpoint_url=endpoint_url, region=region)
    if raw.startswith("file:"):
        parsed = urlparse(raw)
        if parsed.netloc not in ("", "localhost"):
            raise PipperError(f"invalid file URL {raw!r}: use file:///absolute/path")
        path = Path(unquote(parsed.path))
        if _CONTROL.search(str(path)):
            raise PipperError(f"invalid file URL {raw!r}: its path holds control characters (%00 and the like)")
        if not path.is_absolute():
            raise PipperError(f"invalid file URL {raw!r}: use file:///absolute/path")
        return Location(path=path)
    if "://" in raw:
        scheme = raw.split("://", 1)[0]
        raise PipperError(f"unsupported repository URL scheme {scheme!r} in {raw!r}: use s3:// or file://")
    if os.sep in raw or raw.startswith((".", "~")) or Path(raw).is_dir():
        return Location(path=Path(raw).expanduser().resolve())
    return Location(
        bucket=_check_bucket(raw, raw), prefix=DEFAULT_PREFIX, endpoint_url=endpoint_url, region=region
    )
