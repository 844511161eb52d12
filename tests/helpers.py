"""Test helpers: wheels made on the spot, the CLI run as a real process, S3 access-log counts."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# The listen backlog of the tests' servers. socketserver's default (5) overflows when 40 clients
# connect at once on a busy machine: the kernel then answers with SYN cookies, and a connection
# made that way was seen reset mid-exchange (a flaky CI failure in tests/test_latency.py).
BACKLOG = 1024


class LoopbackHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a backlog for parallel clients and threads that never block exit."""

    request_queue_size = BACKLOG
    daemon_threads = True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def compress_tags(tags: list[str]) -> str:
    """The file-name form of a tag set (``cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64``).

    The set must be a product of its interpreters, ABIs and platforms, as a file name can only say that.
    """
    from packaging.tags import Tag, parse_tag

    expanded = [tag for text in tags for tag in parse_tag(text)]
    # in the order given (parse_tag's sets have none)
    parts = [list(dict.fromkeys(p for text in tags for p in text.lower().split("-")[i].split("."))) for i in range(3)]
    product = {Tag(i, a, p) for i in parts[0] for a in parts[1] for p in parts[2]}
    if product != set(expanded):
        raise ValueError(f"tags {tags} cannot be written as one wheel file name")
    return "-".join(".".join(p) for p in parts)


def expand_tags(tags: list[str]) -> list[str]:
    """Each tag of possibly compressed tag sets, in the order written (for reproducible WHEEL files)."""
    found: dict[str, None] = {}
    for text in tags:
        interpreters, abis, platforms = (part.split(".") for part in text.lower().split("-"))
        found.update((f"{i}-{a}-{p}", None) for i in interpreters for a in abis for p in platforms)
    return list(found)


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: list[str] | None = None,
    requires_python: str | None = None,
    body: str = "",
    padding: int = 0,
    tags: list[str] | None = None,
    build: str | None = None,
    wheel_tags: list[str] | None = None,
    wheel_text: str | None = None,
) -> Path:
    """Write a minimal, valid wheel with a module named after the project.

    ``tags`` (default ``["py3-none-any"]``, compressed sets allowed) become the file name's tags and
    the WHEEL file's ``Tag:`` lines, so wheels for any platform can be made here, without a compiler.
    ``build`` adds a build tag. ``wheel_tags`` writes other ``Tag:`` lines (a wheel that lies) and
    ``wheel_text`` replaces the whole WHEEL file. ``padding`` adds that many incompressible bytes,
    for large-upload tests.
    """
    tags = tags or ["py3-none-any"]
    file_tags = compress_tags(tags)
    dist = re.sub(r"[-_.]+", "_", name).lower()
    module = dist
    info = f"{dist}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: test package {name}"]
    if requires_python:
        metadata.append(f"Requires-Python: {requires_python}")
    metadata += [f"Requires-Dist: {r}" for r in requires or []]
    purelib = "true" if file_tags.endswith("-any") else "false"
    lines = ["Wheel-Version: 1.0", "Generator: tests", f"Root-Is-Purelib: {purelib}"]
    if build:
        lines.append(f"Build: {build}")
    lines += [f"Tag: {tag}" for tag in expand_tags(wheel_tags or tags)]
    files = {
        f"{module}/__init__.py": (body or f"VERSION = {version!r}\n").encode(),
        f"{info}/METADATA": ("\n".join(metadata) + "\n").encode(),
        f"{info}/WHEEL": (wheel_text if wheel_text is not None else "\n".join(lines) + "\n").encode(),
    }
    if padding:
        files[f"{module}/blob.bin"] = os.urandom(padding)
    record_lines = [_record_line(path, data) for path, data in files.items()]
    record_lines.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{dist}-{version}{'-' + build if build else ''}-{file_tags}.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            wheel.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    target.write_bytes(buffer.getvalue())
    return target


def make_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: list[str] | None = None,
    requires_python: str | None = None,
    metadata_version: str = "2.2",
    dynamic: tuple[str, ...] | list[str] = (),
    body: str = "",
) -> Path:
    """Write a valid, reproducible sdist ``<name>-<version>.tar.gz`` (PEP 625) directly: no build backend.

    It holds PKG-INFO (``Metadata-Version`` and ``Dynamic`` as given), a pyproject.toml using
    setuptools with the same metadata, and one module, so pip can build it where setuptools is
    installed (``--no-build-isolation``).
    """
    dist = re.sub(r"[-_.]+", "_", name).lower()
    stem = f"{dist}-{version}"
    pkg_info = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}", f"Summary: test sdist {name}"]
    if requires_python:
        pkg_info.append(f"Requires-Python: {requires_python}")
    pkg_info += [f"Requires-Dist: {r}" for r in requires or []]
    pkg_info += [f"Dynamic: {d}" for d in dynamic]
    project = [
        "[build-system]", 'requires = ["setuptools>=61"]', 'build-backend = "setuptools.build_meta"', "",
        "[project]", f"name = {name!r}", f"version = {version!r}", f"description = 'test sdist {name}'",
        f"dependencies = {list(requires or [])!r}",
    ]
    if requires_python:
        project.append(f"requires-python = {requires_python!r}")
    files = {
        "PKG-INFO": ("\n".join(pkg_info) + "\n").encode(),
        "pyproject.toml": ("\n".join(project) + "\n").encode(),
        f"{dist}/__init__.py": (body or f"VERSION = {version!r}\n").encode(),
    }
    members: list[tuple[str, bytes | None]] = [(stem, None), (f"{stem}/{dist}", None)]
    members += [(f"{stem}/{path}", data) for path, data in sorted(files.items())]
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{stem}.tar.gz"
    target.write_bytes(tar_gz(members))
    return target


def tar_gz(members: list[tuple[str, bytes | None]], *, links: dict[str, tuple[bytes, str]] | None = None) -> bytes:
    """A reproducible .tar.gz of ``(name, data)`` members (``None`` data: a directory).

    ``links`` maps a member name to ``(tarfile type, link target)`` for links and special files.
    """
    import gzip
    import tarfile

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for member_name, data in members:
            info = tarfile.TarInfo(member_name)
            info.mtime = 1580601600
            if links and member_name in links:
                info.type, info.linkname = links[member_name]
                tar.addfile(info)
            elif data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


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
    """A threaded server on 127.0.0.1 and a free port, serving on a thread of its own: the tests'
    stand-in servers (HTTP unless ``kind`` says otherwise; any kind needs BACKLOG, see above)."""

    def __init__(self, handler: type, kind: type[socketserver.TCPServer] = LoopbackHTTPServer) -> None:
        import threading

        self.server = kind(("127.0.0.1", 0), handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.endpoint = f"http://{self.address}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def only_file(release):  # type: ignore[no-untyped-def]
    """The one file of a release that has exactly one (a wheel published alone)."""
    assert release is not None
    (dist,) = release.files.values()
    return dist


def backdate(core, name: str, version: str, when: str) -> None:  # type: ignore[no-untyped-def]
    """Say every file of a version was uploaded at ``when`` (RFC 3339): the file records are rewritten
    through ``core`` (a Repository); the caller then runs `pipper reindex` to carry it to the index and pages."""
    from dataclasses import replace

    from poetry_pipper.index import DistFile

    storage = core.storage
    for key in storage.list(f"packages/{name}/releases/{version}/"):
        dist = DistFile.from_record(storage.get(key).data, key)
        storage.put(key, replace(dist, upload_time=when).record_bytes())


def interruptible() -> None:
    """``preexec_fn`` of a child the test will Ctrl-C: SIGINT back to its default action. A job started
    in the background by a non-interactive shell (``cmd &``, as some CI runners do) inherits SIGINT
    ignored, and Python then installs no KeyboardInterrupt handler: the signal would be lost."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
