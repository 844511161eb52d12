"""AWS Signature Version 4 for the GETs of :mod:`.direct`, with the standard library only.

botocore's own signer cannot be imported without most of botocore (about as slow as boto3), so
the read path signs here: the canonical request, the string to sign and the derived key exactly
as the AWS documentation gives them ("Signature Version 4 signing process", S3 flavour: the path
is not encoded twice, the payload hash is sent as ``x-amz-content-sha256``). The tests check the
signatures against a server that verifies them (moto in IAM mode).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Keys:
    """An access key pair, with the session token of temporary credentials."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def quote_path(path: str) -> str:
    """A path as S3 canonicalizes it: every byte but the unreserved characters and ``/`` percent-encoded."""
    return quote(path, safe="/~")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def sign(method: str, host: str, path: str, keys: Keys, region: str, *, now: datetime.datetime | None = None,
         service: str = "s3") -> dict[str, str]:
    """The headers to send (Host included) that authenticate a request with no query string and an
    empty body. ``host`` is the Host header (with the port when it is not the scheme's default),
    ``path`` the already-quoted request path.
    """
    moment = (now or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    date = stamp[:8]
    headers = {"host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": stamp}
    if keys.session_token:
        headers["x-amz-security-token"] = keys.session_token
    names = sorted(headers)
    canonical = "\n".join([
        method, path, "",  # no query string
        *(f"{name}:{' '.join(headers[name].split())}" for name in names), "",
        ";".join(names), EMPTY_SHA256,
    ])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(keys.secret_access_key, date, region, service), to_sign.encode(),
                         hashlib.sha256).hexdigest()
    headers["authorization"] = (f"{ALGORITHM} Credential={keys.access_key_id}/{scope},"
                                f" SignedHeaders={';'.join(names)}, Signature={signature}")
    return headers
