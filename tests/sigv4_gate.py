"""An HTTP front for moto in authentication mode that really checks presigned (query-signed) URLs.

moto 5's server checks ``Authorization``-header signatures and IAM policies in authentication
mode, but answers a presigned GET with a 500 (it looks for an Authorization header that a
presigned request does not have), and outside authentication mode it checks neither the
signature nor the expiry. So the gate does what S3 does with a presigned request:

* it refuses SigV2 (``AWSAccessKeyId``/``Signature``) and anything but ``AWS4-HMAC-SHA256``;
* it recomputes the SigV4 signature from the request as received, with its own implementation
  of the AWS algorithm (not botocore's, so the signer is not checking itself), and answers
  ``403 SignatureDoesNotMatch`` / ``InvalidAccessKeyId`` like S3;
* it answers ``403 AccessDenied: Request has expired`` after ``X-Amz-Date + X-Amz-Expires``
  and ``400 AuthorizationQueryParametersError`` for an ``X-Amz-Expires`` over seven days;
* then it fetches the object from moto *as the signer* (so moto's IAM policies still apply).

Requests signed with an Authorization header are passed to moto unchanged (moto checks them).
Every request is logged with its kind: ``presigned``, ``signed`` or ``anonymous``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from .helpers import LoopbackServer

MAX_EXPIRES = 7 * 24 * 3600


@dataclass(frozen=True)
class GateRequest:
    method: str
    path: str  # without the query string
    kind: str  # "presigned", "signed" or "anonymous"
    status: int


def _error(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<RequestId>gate</RequestId></Error>"
    ).encode()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def presigned_signature(method: str, raw_path: str, params: list[tuple[str, str]], host: str, secret: str) -> str:
    """The SigV4 signature of a query-signed request (AWS "Authenticating Requests: Using Query Parameters")."""
    query = dict(params)
    date, region, service, terminator = query["X-Amz-Credential"].split("/")[1:]
    canonical_query = "&".join(
        f"{k}={v}" for k, v in sorted((_encode(k), _encode(v)) for k, v in params if k != "X-Amz-Signature")
    )
    signed_headers = query["X-Amz-SignedHeaders"]
    if signed_headers != "host":
        raise ValueError(f"unexpected signed headers {signed_headers!r}")
    canonical = "\n".join([method, raw_path, canonical_query, f"host:{host}", "", "host", "UNSIGNED-PAYLOAD"])
    scope = f"{date}/{region}/{service}/{terminator}"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", query["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), date), region), service), terminator)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class SigV4Gate:
    def __init__(self, upstream: str, secrets: dict[str, str]) -> None:
        self.upstream = urlsplit(upstream)
        self.secrets = dict(secrets)
        self.log: list[GateRequest] = []
        self._mark = 0
        self._lock = threading.Lock()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                gate.handle(self)

            do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

        self._http = LoopbackServer(Handler)
        self.endpoint = self._http.endpoint

    def close(self) -> None:
        self._http.close()

    def mark(self) -> None:
        with self._lock:
            self._mark = len(self.log)

    def since_mark(self) -> list[GateRequest]:
        with self._lock:
            return list(self.log[self._mark:])

    # -- request handling -----------------------------------------------------------------

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        raw_path, _, raw_query = req.path.partition("?")
        params = [
            (unquote(k), unquote(v)) for k, _, v in (p.partition("=") for p in raw_query.split("&") if p)
        ]
        names = {k for k, _ in params}
        if "Authorization" in req.headers:
            kind = "signed"
            status, headers, body = self._forward(req)
        elif names & {"X-Amz-Signature", "X-Amz-Algorithm", "Signature", "AWSAccessKeyId"}:
            kind = "presigned"
            status, headers, body = self._presigned(req, raw_path, params)
        else:
            kind = "anonymous"
            status, headers, body = 403, {}, _error("AccessDenied", "Access Denied")
        with self._lock:
            self.log.append(GateRequest(req.command, raw_path, kind, status))
        req.send_response(status)
        for name, value in headers.items():
            req.send_header(name, value)
        if "Content-Length" not in headers:
            req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(body)

    def _forward(self, req: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        conn = http.client.HTTPConnection(self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=60)
        try:
            headers = {k: v for k, v in req.headers.items() if k.lower() not in ("connection", "expect")}
            conn.request(req.command, req.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            keep = {k: v for k, v in response.getheaders()
                    if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date")}
            return response.status, keep, data
        finally:
            conn.close()

    def _presigned(
        self, req: BaseHTTPRequestHandler, raw_path: str, params: list[tuple[str, str]]
    ) -> tuple[int, dict[str, str], bytes]:
        query = dict(params)
        if "AWSAccessKeyId" in query or "Signature" in query:
            return 400, {}, _error("InvalidRequest", "SigV2 query authentication is not accepted; use AWS4-HMAC-SHA256")
        if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            return 400, {}, _error("AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        try:
            key_id = query["X-Amz-Credential"].split("/")[0]
            signed_at = datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.UTC
            )
            expires = int(query["X-Amz-Expires"])
            given = query["X-Amz-Signature"]
        except (KeyError, ValueError):
            return 400, {}, _error("AuthorizationQueryParametersError", "incomplete SigV4 query parameters")
        if not 0 < expires <= MAX_EXPIRES:
            return 400, {}, _error("AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week")
        secret = self.secrets.get(key_id)
        if secret is None:
            return 403, {}, _error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
        try:
            expected = presigned_signature(req.command, raw_path, params, req.headers.get("Host", ""), secret)
        except (KeyError, ValueError):
            return 400, {}, _error("AuthorizationQueryParametersError", "malformed SigV4 query parameters")
        if not hmac.compare_digest(expected, given):
            return 403, {}, _error("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
        if datetime.datetime.now(datetime.UTC) > signed_at + datetime.timedelta(seconds=expires):
            return 403, {}, _error("AccessDenied", "Request has expired")
        return self._get_as(key_id, secret, raw_path)

    def _get_as(self, key_id: str, secret: str, raw_path: str) -> tuple[int, dict[str, str], bytes]:
        import boto3
        import botocore.exceptions
        from botocore.config import Config

        bucket, _, key = unquote(raw_path).lstrip("/").partition("/")
        client = boto3.client(
            "s3",
            endpoint_url=f"{self.upstream.scheme}://{self.upstream.netloc}",
            region_name="us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        try:
            response = client.get_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500)
            return status, {}, _error(str(error.get("Code", "")), str(error.get("Message", "")))
        data = response["Body"].read()
        return 200, {"Content-Type": response.get("ContentType") or "application/octet-stream",
                     "ETag": response["ETag"]}, data
