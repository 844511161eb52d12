"""A fault-injecting HTTP proxy for tests: sits on loopback between pipper and an S3 server.

Each request is forwarded to ``target``; with probability ``rate`` (a seeded RNG) it is hit by
one fault instead, the least used of the kinds that apply to it, so every kind gets its share:

* ``503``: ``503 SlowDown`` before the request reaches the server (throttling);
* ``500``: ``500 InternalError`` before the request reaches the server;
* ``500-after``: the server applied the request, then the reply is replaced by a 500
  (a lost reply: botocore retries a write that already happened);
* ``reset-request``: the connection is reset half-way through the request body (uploads);
* ``reset-response``: the reply is cut by a TCP reset half-way (headers or body);
* ``truncate``: a GET reply advertises the full Content-Length, sends half, and closes;
* ``corrupt`` (not in the default set): one byte of a wheel's GET body is flipped, the length
  kept, so only the sha256 check can notice.

Other switches: ``strip_conditions`` drops ``If-None-Match``/``If-Match`` (a server that ignores
conditional writes), ``throttle`` limits body bytes per second in both directions,
``max_faults`` stops injecting after that many, ``cut_after_writes`` lets that many writes (PUT, POST,
DELETE) through and refuses every later one with 403 AccessDenied (a process that died after
that many writes, as the bucket sees it), ``transferring`` is set once any single body has
moved more than 1 MB (for Ctrl-C tests), ``only(method, path)`` limits faults to the requests it
accepts, and ``on_reply(method, path, status)`` is called once the server has answered a request
and before the client gets the answer (tests/test_prune_safety.py kills the client there: the
request took effect).
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlparse

from .helpers import LoopbackHTTPServer

KINDS = ("503", "500", "500-after", "reset-request", "reset-response", "truncate")
ALL_KINDS = (*KINDS, "corrupt")
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
_ERROR_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
    "<RequestId>faultproxy</RequestId></Error>"
)
_CHUNK = 64 * 1024
TRANSFER_MARK = 1024 * 1024


class FaultProxy:
    def __init__(
        self,
        target: str,
        *,
        rate: float = 0.0,
        seed: int = 0,
        kinds: tuple[str, ...] = KINDS,
        strip_conditions: bool = False,
        throttle: int | None = None,
        max_faults: int | None = None,
        on_reply: Callable[[str, str, int], None] | None = None,
        only: Callable[[str, str], bool] | None = None,
        cut_after_writes: int | None = None,
    ) -> None:
        parsed = urlparse(target)
        self.target_host = parsed.hostname or "127.0.0.1"
        self.target_port = parsed.port or 80
        self.rate = rate
        self.kinds = kinds
        self.strip_conditions = strip_conditions
        self.throttle = throttle
        self.max_faults = max_faults
        self.on_reply = on_reply
        self.only = only
        self.cut_after_writes = cut_after_writes
        self.writes = 0
        self.refused_writes = 0
        self.counts: Counter[str] = Counter()
        self.requests = 0
        self.stripped = 0
        self.transferring = threading.Event()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server = LoopbackHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def faults(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        if self.rate <= 0:
            kinds = "no faults"
        else:
            kinds = ", ".join(f"{kind}: {self.counts[kind]}" for kind in ALL_KINDS if kind in self.kinds)
        extra = f", If-None-Match/If-Match stripped {self.stripped} times" if self.strip_conditions else ""
        extra += f", throttled to {self.throttle / 2**20:g} MB/s per body" if self.throttle else ""
        return f"{self.faults} faults in {self.requests} requests ({kinds}){extra}"

    def _choose(self, method: str, path: str, has_body: bool) -> str | None:
        with self._lock:
            self.requests += 1
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            if self.max_faults is not None and self.faults >= self.max_faults:
                return None
            if self.only is not None and not self.only(method, path):
                return None
            applicable = [
                k for k in self.kinds
                if (k != "truncate" or method == "GET") and (k != "reset-request" or has_body)
                and (k != "corrupt" or (method == "GET" and path.split("?")[0].endswith(".whl")))
            ]
            if not applicable:
                return None
            least = min(self.counts[k] for k in applicable)
            kind = self._rng.choice([k for k in applicable if self.counts[k] == least])
            self.counts[kind] += 1
            return kind

    def _pace(self, amount: int, started: float, moved: int) -> None:
        if moved > TRANSFER_MARK:
            self.transferring.set()
        if self.throttle:
            ahead = moved / self.throttle - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self.relay()

            do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

            # -- request -------------------------------------------------------------------

            def read_body(self, stop_at: int | None = None) -> bytes:
                """The request body (de-chunked); with ``stop_at``, only that many bytes."""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                        if stop_at is not None and sum(map(len, parts)) >= stop_at:
                            return b"".join(parts)
                length = int(self.headers.get("Content-Length") or 0)
                if stop_at is not None:
                    length = min(length, stop_at)
                parts, moved, started = [], 0, time.monotonic()
                while moved < length:
                    piece = self.rfile.read(min(_CHUNK, length - moved))
                    if not piece:
                        break
                    parts.append(piece)
                    moved += len(piece)
                    proxy._pace(len(piece), started, moved)
                return b"".join(parts)

            def has_body(self) -> bool:
                return int(self.headers.get("Content-Length") or 0) > 1 or "chunked" in self.headers.get(
                    "Transfer-Encoding", ""
                ).lower()

            # -- faults --------------------------------------------------------------------

            def error(self, status: int, code: str, message: str) -> None:
                body = _ERROR_XML.format(code=code, message=message).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def reset(self) -> None:
                """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                except OSError:
                    pass

            # -- relay ---------------------------------------------------------------------

            def relay(self) -> None:
                kind = proxy._choose(self.command, self.path, self.has_body())
                if kind == "reset-request":
                    length = int(self.headers.get("Content-Length") or 2)
                    self.read_body(stop_at=max(1, length // 2))
                    self.reset()
                    return
                body = self.read_body()
                if self.command in ("PUT", "POST", "DELETE") and proxy.cut_after_writes is not None:
                    with proxy._lock:
                        cut = proxy.writes >= proxy.cut_after_writes
                        proxy.writes += not cut
                        proxy.refused_writes += cut
                    if cut:
                        self.error(403, "AccessDenied", "The test cut this writer off.")
                        return
                if kind == "503":
                    self.error(503, "SlowDown", "Please reduce your request rate.")
                    return
                if kind == "500":
                    self.error(500, "InternalError", "We encountered an internal error. Please try again.")
                    return
                headers = {}
                for name, value in self.headers.items():
                    lower = name.lower()
                    if lower in _HOP or lower == "content-length":
                        continue
                    if proxy.strip_conditions and lower in ("if-none-match", "if-match"):
                        with proxy._lock:
                            proxy.stripped += 1
                        continue
                    headers[name] = value
                if body or self.command in ("PUT", "POST"):
                    headers["Content-Length"] = str(len(body))
                upstream = http.client.HTTPConnection(proxy.target_host, proxy.target_port, timeout=120)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    status, reason, reply_headers = response.status, response.reason, response.getheaders()
                finally:
                    upstream.close()
                if proxy.on_reply is not None:
                    proxy.on_reply(self.command, self.path, status)
                if kind == "500-after":
                    self.error(500, "InternalError", "We encountered an internal error. Please try again.")
                    return
                if kind == "corrupt" and data and 200 <= status < 300:
                    middle = len(data) // 2
                    data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]
                    # As from a server that keeps no checksums: only pipper's sha256 check is left.
                    reply_headers = [(n, v) for n, v in reply_headers if not n.lower().startswith("x-amz-checksum")]
                head = [f"HTTP/1.1 {status} {reason}\r\n".encode()]
                for name, value in reply_headers:
                    lower = name.lower()
                    if lower in _HOP or (lower == "content-length" and self.command != "HEAD"):
                        continue
                    head.append(f"{name}: {value}\r\n".encode())
                if self.command != "HEAD":
                    head.append(f"Content-Length: {len(data)}\r\n".encode())
                head.append(b"\r\n")
                header_bytes = b"".join(head)
                if self.command == "HEAD":
                    data = b""
                if kind == "reset-response":
                    if data:
                        self.wfile.write(header_bytes + data[: len(data) // 2])
                    else:
                        self.wfile.write(header_bytes[: len(header_bytes) // 2])
                    self.reset()
                    return
                self.wfile.write(header_bytes)
                if kind == "truncate" and len(data) > 1:
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_WR)
                    return
                started, moved = time.monotonic(), 0
                for offset in range(0, len(data), _CHUNK):
                    piece = data[offset: offset + _CHUNK]
                    self.wfile.write(piece)
                    moved += len(piece)
                    proxy._pace(len(piece), started, moved)

        return Handler
