"""Ctrl-C in the middle of a transfer leaves nothing partial behind.

A 40 MB bundle moves through the fault proxy with a bandwidth limit, so the transfer is still
running when the test sends SIGINT: it waits until the proxy has relayed more than 1 MB of one
body, which needs no timing assumption.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from poetry_pipper.bundle import make_bundle
from poetry_pipper.publish import publish_file

from .helpers import ROOT, Result, interruptible, make_wheel, run_cli
from .servers import PublicIndex, RepoUnderTest, Venv, pip_env

SIZE = 40 * 1024 * 1024
THROTTLE = 8 * 1024 * 1024  # bytes per second per request through the proxy


def interrupted(args: list[str], env: dict[str, str], proxy, python: str = sys.executable) -> Result:  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        [python, "-m", "poetry_pipper", "--no-ansi", *args],
        cwd=ROOT, env={**os.environ, "NO_COLOR": "1", **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible,
    )
    try:
        assert proxy.transferring.wait(120), "the transfer never started"
        assert proc.poll() is None, "the command finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return Result(proc.returncode, stdout, stderr)


def assert_interrupted(result: Result) -> None:
    assert result.code == 130, result
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1] == "error: interrupted; nothing partial was left visible", result.stderr
    assert all(line.startswith((" uploading", " downloading")) for line in lines[:-1]), result.stderr


def big_bundle(tmp_path: Path) -> Path:
    wheel = make_wheel(tmp_path / "w", "bigpkg", "1.0.0", padding=SIZE)
    return make_bundle(wheel, tmp_path / "b")[0]


def test_ctrl_c_during_publish(s3_repo: RepoUnderTest, fault_proxy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = big_bundle(tmp_path)
    proxy = fault_proxy(s3_repo.server.endpoint, throttle=THROTTLE)
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    s3_repo.mark()
    result = interrupted(["publish", str(bundle), "-b", s3_repo.url],
                         {"AWS_ENDPOINT_URL": proxy.url, "TMPDIR": str(scratch)}, proxy)
    print("publish interrupted:", result.stderr.strip().splitlines()[-1])
    print("requests:", [(r.method, r.path.split("/")[-1][:60], r.status) for r in s3_repo.requests()])
    assert_interrupted(result)
    requests = s3_repo.requests()
    assert any(r.method == "POST" and "uploads" in r.path for r in requests)  # a multipart upload started...
    assert any(r.method == "DELETE" and "uploadId" in r.path for r in requests)  # ...and was aborted

    client = s3_repo.server.client()
    assert client.list_multipart_uploads(Bucket=s3_repo.bucket).get("Uploads", []) == []  # aborted
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_repo.bucket).get("Contents", [])]
    assert keys == []  # no wheel, no sidecar, no release record, no index, no simple page
    assert list(scratch.iterdir()) == []  # the unpacked wheel is gone too

    s3_repo.cli("publish", str(bundle), "-b", s3_repo.url).assert_ok()
    assert "no drift" in s3_repo.cli("verify", "-b", s3_repo.url).assert_ok().stdout


def test_ctrl_c_during_install(s3_repo: RepoUnderTest, fault_proxy, venv: Venv, public_index: PublicIndex,  # type: ignore[no-untyped-def]
                               tmp_path: Path) -> None:
    publish_file(s3_repo.open(), big_bundle(tmp_path))
    proxy = fault_proxy(s3_repo.server.endpoint, throttle=THROTTLE // 2)
    scratch, cache = tmp_path / "tmpdir", tmp_path / "cache"
    scratch.mkdir()
    env = {**pip_env(public_index), "TMPDIR": str(scratch), "PIPPER_CACHE_DIR": str(cache)}
    result = interrupted(["install", "bigpkg", "-b", s3_repo.url], {**env, "AWS_ENDPOINT_URL": proxy.url},
                         proxy, python=venv.python)
    assert_interrupted(result)
    assert not venv.has("bigpkg")
    assert not [p for p in cache.rglob("*") if p.is_file()]  # no partial download in the wheel cache
    assert list(scratch.iterdir()) == []

    run_cli("install", "bigpkg", "-b", s3_repo.url, python=venv.python,
            env={**env, "AWS_ENDPOINT_URL": s3_repo.server.endpoint}).assert_ok()
    assert venv.has("bigpkg")
