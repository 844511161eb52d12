"""Server processes of a benchmark run: moto, static PEP 503 indexes, a keep-alive front, latency proxies.

Every server listens on 127.0.0.1 (a free port) and is stopped by :meth:`Processes.close`, which
``bench/harness.py`` calls on every exit path (normal end, error, Ctrl-C, SIGTERM); on Linux the
servers also get SIGTERM if the benchmark process dies without cleaning up.

``python bench/servers.py serve DIR`` is the static PEP 503 index server: HTTP/1.1 keep-alive
and TCP_NODELAY like any production web server (``python -m http.server`` closes the connection
after every response and answers a keep-alive client's requests with ~40 ms Nagle/delayed-ACK
stalls, which would handicap the baseline). It prints ``PORT <n>`` and logs every request as
``"GET /path HTTP/1.1" 200`` lines on stderr.

``python bench/servers.py front HOST:PORT`` is a keep-alive front for the moto server: moto's
werkzeug server closes the connection after every response (werkzeug disables keep-alive on
purpose), where S3 keeps connections open. Behind a latency proxy that would charge every S3
request a new connection's extra round trip. The front, like nginx before a WSGI app, keeps the
client's connections open and relays each request to moto over a fresh loopback connection.

Only the standard library here: the server processes run it as a script.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.latency import LatencyProxy

PY = sys.executable


class ServerError(RuntimeError):
    """A server did not start."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM when the benchmark process dies, even by SIGKILL."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class AccessLog:
    """Requests an HTTP server logged (werkzeug's and our static server's format)."""

    path: Path
    _mark: int = 0

    def all(self) -> list[tuple[str, str, int]]:
        import re

        text = self.path.read_text(errors="replace") if self.path.exists() else ""
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        pattern = r'"(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP/[\d.]+" (\d{3})'
        return [(m[1], m[2], int(m[3])) for m in re.finditer(pattern, text)]

    def mark(self) -> None:
        self._mark = len(self.all())

    def since_mark(self) -> list[tuple[str, str, int]]:
        time.sleep(0.05)  # the server logs a request just after answering it
        return self.all()[self._mark:]


@dataclass
class Server:
    url: str
    log: AccessLog
    process: subprocess.Popen[bytes]


@dataclass
class Processes:
    """Everything the run started, stopped in reverse order by :meth:`close`."""

    scratch: Path
    _servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _proxies: list[LatencyProxy] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def spawn(self, command: list[str], log: Path, *, announces_port: bool = False) -> subprocess.Popen[bytes]:
        """Start a server process logging to ``log``; with ``announces_port`` its stdout stays readable."""
        handle = open(log, "wb")  # noqa: SIM115 - the server writes to it until it stops
        self._logs.append(handle)
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE if announces_port else handle, stderr=handle,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=self.scratch,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self._servers.append(process)
        return process

    def moto(self) -> Server:
        port = free_port()
        log = self.scratch / f"moto-{port}.log"
        process = self.spawn([PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], log)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/moto-api/", process)
        return Server(url, AccessLog(log), process)

    def _own_server(self, mode: str, argument: str, log: Path) -> tuple[str, subprocess.Popen[bytes]]:
        """``python bench/servers.py MODE ARGUMENT``: its URL (from the ``PORT <n>`` line) and process."""
        process = self.spawn([PY, str(Path(__file__)), mode, argument], log, announces_port=True)
        assert process.stdout is not None
        line = process.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "PORT":
            raise ServerError(f"`{mode} {argument}` did not start: {log.read_text(errors='replace')[-500:]}")
        return f"http://127.0.0.1:{line[1]}", process

    def static(self, directory: Path, name: str) -> Server:
        log = self.scratch / f"static-{name}.log"
        url, process = self._own_server("serve", str(directory), log)
        wait_http(url + "/", process)
        return Server(url, AccessLog(log), process)

    def front(self, target: Server) -> Server:
        """A keep-alive front for ``target`` (its requests still appear in ``target``'s log)."""
        host_port = target.url.removeprefix("http://")
        url, process = self._own_server("front", host_port, self.scratch / f"front-{host_port}.log")
        return Server(url, target.log, process)

    def proxy(self, target: str, latency: float) -> LatencyProxy:
        from bench.latency import LatencyProxy

        proxy = LatencyProxy(target, latency).start()
        self._proxies.append(proxy)
        return proxy

    def close(self) -> None:
        for proxy in reversed(self._proxies):
            with contextlib.suppress(Exception):
                proxy.stop()
        for process in reversed(self._servers):
            stop(process)
        for handle in self._logs:
            handle.close()
        self._proxies.clear()
        self._servers.clear()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"the server for {url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status: it is up
                return
            time.sleep(0.1)
    raise ServerError(f"the server for {url} did not start within {timeout:.0f} s")


def _serve_forever(handler: Callable[..., Any]) -> None:
    """A threaded HTTP/1.1 server on 127.0.0.1 and a free port, announced as ``PORT <n>``."""
    from http.server import ThreadingHTTPServer

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    server = Server(("127.0.0.1", 0), handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


def serve(directory: str) -> None:
    """The static index server (``python bench/servers.py serve DIR``)."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"{self.address_string()} - - {format % args}\n")
            sys.stderr.flush()

    _serve_forever(partial(Handler, directory=directory))


_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


def front(target: str) -> None:
    """The keep-alive front (``python bench/servers.py front HOST:PORT``)."""
    import http.client
    from http.server import BaseHTTPRequestHandler

    host, _, port = target.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                parts = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def relay(self) -> None:
            data = self.body()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP and k.lower() != "content-length"}
            if data or self.command in ("PUT", "POST"):
                headers["Content-Length"] = str(len(data))
            upstream = http.client.HTTPConnection(host, int(port), timeout=300)
            try:
                upstream.request(self.command, self.path, body=data or None, headers=headers)
                reply = upstream.getresponse()
                payload = reply.read()
                status, reason, reply_headers = reply.status, reply.reason, reply.getheaders()
            finally:
                upstream.close()
            self.send_response_only(status, reason)
            for name, value in reply_headers:
                if name.lower() not in _HOP and (name.lower() != "content-length" or self.command == "HEAD"):
                    self.send_header(name, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = relay

    _serve_forever(Handler)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"] and len(sys.argv) == 3:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["front"] and len(sys.argv) == 3:
        front(sys.argv[2])
    else:
        sys.exit("usage: python bench/servers.py serve DIRECTORY | front HOST:PORT")
