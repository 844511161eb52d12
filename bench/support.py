"""What the benchmarks start, stop and measure with: server processes, latency proxies, venvs, timings.

Every server listens on 127.0.0.1 (a free port) and is stopped by :meth:`Processes.close`, which
``bench/run.py`` calls on every exit path (normal end, error, Ctrl-C, SIGTERM); on Linux the
servers also get SIGTERM if the benchmark process dies without cleaning up.

``python bench/support.py serve DIR`` is the static PEP 503 index server: HTTP/1.1 keep-alive
and TCP_NODELAY like any production web server (``python -m http.server`` closes the connection
after every response and answers a keep-alive client's requests with ~40 ms Nagle/delayed-ACK
stalls, which would handicap the baseline). It prints ``PORT <n>`` and logs every request as
``"GET /path HTTP/1.1" 200`` lines on stderr.

``python bench/support.py front HOST:PORT`` is a keep-alive front for the moto server: moto's
werkzeug server closes the connection after every response (werkzeug disables keep-alive on
purpose), where S3 keeps connections open. Behind a latency proxy that would charge every S3
request a new connection's extra round trip. The front, like nginx before a WSGI app, keeps the
client's connections open and relays each request to moto over a fresh loopback connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SCRATCH = ROOT / "bench" / ".scratch"
# Every command runs here: `python -m` puts the working directory first on sys.path, so started from
# another checkout a command would import that checkout's poetry_pipper instead of this one's.
NEUTRAL_CWD = SCRATCH / "cwd"


class BenchError(RuntimeError):
    """A benchmark step failed: the run stops and says which."""


# -- processes and servers -----------------------------------------------------------------


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
    _proxies: list[Any] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def spawn(self, command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        handle = open(log, "wb")  # noqa: SIM115 - the server writes to it until it stops
        self._logs.append(handle)
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=handle, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            cwd=self.scratch, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self._servers.append(process)
        return process

    def moto(self) -> Server:
        port = free_port()
        log = self.scratch / f"moto-{port}.log"
        handle = open(log, "wb")  # noqa: SIM115
        self._logs.append(handle)
        process = subprocess.Popen(
            [PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=handle, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=self.scratch,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self._servers.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/moto-api/", process)
        return Server(url, AccessLog(log), process)

    def static(self, directory: Path, name: str) -> Server:
        log = self.scratch / f"static-{name}.log"
        process = self.spawn([PY, str(Path(__file__)), "serve", str(directory)], log)
        assert process.stdout is not None
        line = process.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "PORT":
            raise BenchError(f"the static server for {directory} did not start: {log.read_text()}")
        url = f"http://127.0.0.1:{line[1]}"
        wait_http(url + "/", process)
        return Server(url, AccessLog(log), process)

    def front(self, target: Server) -> Server:
        """A keep-alive front for ``target`` (its requests still appear in ``target``'s log)."""
        host_port = target.url.removeprefix("http://")
        process = self.spawn([PY, str(Path(__file__)), "front", host_port], self.scratch / f"front-{host_port}.log")
        assert process.stdout is not None
        line = process.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "PORT":
            raise BenchError(f"the keep-alive front for {target.url} did not start")
        return Server(f"http://127.0.0.1:{line[1]}", target.log, process)

    def proxy(self, target: str, latency: float) -> Any:
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
            raise BenchError(f"the server for {url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status: it is up
                return
            time.sleep(0.1)
    raise BenchError(f"the server for {url} did not start within {timeout:.0f} s")


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
    """The static index server (``python bench/support.py serve DIR``)."""
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
    """The keep-alive front (``python bench/support.py front HOST:PORT``)."""
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


# -- running and timing commands -----------------------------------------------------------


def run(command: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 600) -> float:
    """Run a command to completion; its wall time in seconds. A failure stops the benchmark."""
    NEUTRAL_CWD.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=cwd or NEUTRAL_CWD, capture_output=True, text=True, check=False,
                          timeout=timeout)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise BenchError(f"benchmark step failed (exit {proc.returncode}): {' '.join(command)}\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def median(values: Iterable[float]) -> float:
    return round(statistics.median(list(values)), 4)


def counted(logs: dict[str, AccessLog], action: Callable[[], float]) -> tuple[float, dict[str, int]]:
    """Run ``action`` and count the requests each server logged meanwhile."""
    for log in logs.values():
        log.mark()
    elapsed = action()
    return elapsed, {name: len(log.since_mark()) for name, log in logs.items()}


def methods(log: AccessLog, action: Callable[[], float]) -> tuple[float, Counter[str]]:
    log.mark()
    elapsed = action()
    return elapsed, Counter(method for method, _, _ in log.since_mark())


def hermetic_env(scratch: Path) -> dict[str, str]:
    """Child processes see no user config, no real AWS identity, no pip config, no active venv."""
    drop = ("AWS_", "PIP_", "POETRY_", "PIPPER_", "VIRTUAL_ENV", "CONDA_", "PYTHONPATH", "PYTHONHOME", "UV_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PIP_NO_CACHE_DIR": "1",
        "POETRY_CONFIG_DIR": str(scratch / "poetry-config"), "POETRY_KEYRING_ENABLED": "false",
        "POETRY_VIRTUALENVS_IN_PROJECT": "true", "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "NO_COLOR": "1",
    })
    return env


# -- packages ------------------------------------------------------------------------------


def publish(wheels: Iterable[Path], repository: str, env: dict[str, str] | None = None) -> None:
    """``pipper publish FILE -b REPOSITORY`` for each wheel or bundle, through the CLI entry point but
    in-process (hundreds of publishes would otherwise pay the CLI's start-up each), in ``env``."""
    from poetry_pipper.cli import main

    saved = dict(os.environ)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    try:
        for wheel in wheels:
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                try:
                    code: object = main(["publish", str(wheel), "-b", repository])
                except SystemExit as exc:
                    code = exc.code
            if code not in (0, None):
                raise BenchError(f"pipper publish {wheel.name} -b {repository} failed: {out.getvalue().strip()}")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def mirror(directory: Path, endpoint: str, url: str) -> int:
    """Copy a local repository to ``s3://bucket/prefix`` object by object (same layout: docs/FORMAT.md)."""
    import boto3

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    files = [p for p in directory.rglob("*") if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(directory).parts)]

    def put(path: Path) -> None:
        key = path.relative_to(directory).as_posix()
        client.put_object(Bucket=bucket, Key=f"{prefix}/{key}" if prefix else key, Body=path.read_bytes())

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, files))
    return len(files)


def public_index(directory: Path, wheels: Iterable[Path]) -> None:
    """A flat PEP 503 tree (``directory/simple/<name>/``) holding ``wheels``."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    for wheel in wheels:
        page = directory / "simple" / canonicalize_name(parse_wheel_filename(wheel.name)[0])
        page.mkdir(parents=True, exist_ok=True)
        shutil.copy(wheel, page / wheel.name)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        links = (page / "index.html").read_text() if (page / "index.html").exists() else ""
        links += f'<a href="{wheel.name}#sha256={digest}">{wheel.name}</a><br>\n'
        (page / "index.html").write_text(links)


# -- venvs ---------------------------------------------------------------------------------


def runtime_closure(project: str) -> list[str]:
    """The installed distributions ``project`` needs at run time (no extras), itself excluded."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    environment = {**{k: str(v) for k, v in default_environment().items()}, "extra": ""}
    seen: dict[str, str] = {}
    todo = [project]
    while todo:
        name = todo.pop()
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            key = canonicalize_name(requirement.name)
            if key in seen or (requirement.marker and not requirement.marker.evaluate(environment)):
                continue
            seen[key] = requirement.name
            todo.append(requirement.name)
    return sorted(seen.values())


def copy_distributions(names: Iterable[str], site: Path) -> None:
    """Copy installed distributions (files listed in their RECORD) from this venv into ``site``, compiled."""
    for name in names:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            source = Path(str(dist.locate_file(file)))
            if source.is_file() and ".." not in file.parts and "__pycache__" not in file.parts:
                target = site / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    compile_tree(site)


def compile_tree(path: Path) -> None:
    """Byte-compile ``path`` as pip does at install time, whatever PYTHONDONTWRITEBYTECODE says:
    otherwise every timed command would compile the copied packages (and this checkout) again."""
    NEUTRAL_CWD.mkdir(parents=True, exist_ok=True)
    subprocess.run([PY, "-m", "compileall", "-q", "-j", "0", str(path)], check=True, stdout=subprocess.DEVNULL,
                   cwd=NEUTRAL_CWD)


def site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python*/site-packages"))


def fresh_venv(target: Path, path_entries: Iterable[Path]) -> Path:
    """A brand-new venv with nothing installed, ``path_entries`` on its path (a .pth file).

    pip itself comes from such an entry (a copy of this venv's pip): it installs into the venv
    it runs in, and every venv of a run gets the same pip without downloading it.
    """
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([PY, "-m", "venv", "--without-pip", str(target)], check=True, cwd=NEUTRAL_CWD)
    (site_packages(target) / "_bench_paths.pth").write_text("".join(f"{p}\n" for p in path_entries))
    return target


def installed(venv: Path) -> dict[str, str]:
    """name -> version of what is installed in ``venv`` itself (not on its .pth paths)."""
    code = ("import importlib.metadata as m, json, sys; "
            "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions(path=[sys.argv[1]])}))")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", code, str(site_packages(venv))],
                          capture_output=True, text=True, check=True, cwd=NEUTRAL_CWD)
    return dict(json.loads(proc.stdout))


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"] and len(sys.argv) == 3:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["front"] and len(sys.argv) == 3:
        front(sys.argv[2])
    else:
        sys.exit("usage: python bench/support.py serve DIRECTORY | front HOST:PORT")
