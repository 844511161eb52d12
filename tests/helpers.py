"""Test helpers: wheels made on the spot, the CLI run as a real process, S3 access-log counts."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: list[str] | None = None,
    requires_python: str | None = None,
    body: str = "",
    padding: int = 0,
) -> Path:
    """Write a minimal, valid, pure-Python wheel with a module named after the project.

    ``padding`` adds that many incompressible bytes, for large-upload tests.
    """
    dist = re.sub(r"[-_.]+", "_", name).lower()
    module = dist
    info = f"{dist}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: test package {name}"]
    if requires_python:
        metadata.append(f"Requires-Python: {requires_python}")
    metadata += [f"Requires-Dist: {r}" for r in requires or []]
    files = {
        f"{module}/__init__.py": (body or f"VERSION = {version!r}\n").encode(),
        f"{info}/METADATA": ("\n".join(metadata) + "\n").encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if padding:
        files[f"{module}/blob.bin"] = os.urandom(padding)
    record_lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record_lines.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{dist}-{version}-py3-none-any.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            wheel.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    target.write_bytes(buffer.getvalue())
    return target


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def assert_ok(self) -> Result:
        assert self.code == 0, f"exit {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        return self

    def assert_one_line_error(self) -> str:
        """Exit 1, exactly one non-empty line on stderr, no traceback."""
        assert self.code == 1, f"exit {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one error line, got:\n{self.stderr}"
        assert "Traceback" not in self.output
        assert lines[0].startswith("error: "), lines[0]
        return lines[0]


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    python: str = sys.executable,
    timeout: float = 300,
) -> Result:
    """Run ``pipper`` as a real process (``python -m poetry_pipper``)."""
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("NO_COLOR", "1")
    proc = subprocess.run(
        [python, "-m", "poetry_pipper", "--no-ansi", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


_LOG_LINE = re.compile(r'"(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    status: int


class AccessLog:
    """Requests seen by an HTTP server, read from its access log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mark = 0

    def all(self) -> list[Request]:
        text = self.path.read_text(errors="replace") if self.path.exists() else ""
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # werkzeug colours non-2xx lines
        return [Request(m[1], m[2], int(m[3])) for m in _LOG_LINE.finditer(text)]

    def mark(self) -> None:
        self._mark = len(self.all())

    def since_mark(self, contains: str = "") -> list[Request]:
        return [r for r in self.all()[self._mark:] if contains in r.path]


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 and a free port, for the tests' stand-in servers."""

    def __init__(self, handler: type) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
