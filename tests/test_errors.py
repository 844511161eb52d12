"""Repository-level failures: each is one readable line and exit 1."""

from __future__ import annotations

from pathlib import Path

from poetry_pipper.bundle import make_bundle

from .helpers import free_port, make_wheel, run_cli
from .servers import AuthS3, S3Server


def _bundle(tmp_path: Path, name: str = "pkg", version: str = "1.0.0") -> Path:
    path, _ = make_bundle(make_wheel(tmp_path / "w", name, version), tmp_path / "b")
    return path


def test_missing_bucket(s3_server: S3Server, tmp_path: Path) -> None:
    env = {"AWS_ENDPOINT_URL": s3_server.endpoint}
    for args in (["info", "pkg"], ["publish", str(_bundle(tmp_path))], ["download", "pkg", "-d", str(tmp_path / "d")]):
        line = run_cli(*args, "-b", "s3://no-such-bucket-here/p", env=env).assert_one_line_error()
        assert "bucket 'no-such-bucket-here' does not exist" in line


def test_unreachable_endpoint(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    line = run_cli("info", "pkg", "-b", "s3://some-bucket/p", "--endpoint-url", dead,
                   env={"AWS_MAX_ATTEMPTS": "2"}).assert_one_line_error()
    assert f"cannot reach {dead}" in line


def test_no_repository_given() -> None:
    assert "no repository given" in run_cli("info", "pkg").assert_one_line_error()


def test_bad_locations(tmp_path: Path) -> None:
    assert "invalid bucket" in run_cli("info", "pkg", "-b", "Bad_Bucket!").assert_one_line_error()
    assert "unsupported repository URL scheme" in run_cli("info", "pkg", "-b", "gs://x/y").assert_one_line_error()
    assert "file:///absolute/path" in run_cli("info", "pkg", "-b", "file://host/x").assert_one_line_error()


def test_corrupt_bundle(tmp_path: Path) -> None:
    corrupt = tmp_path / "x.pipper"
    corrupt.write_bytes(b"PK\x03\x04garbage")
    line = run_cli("publish", str(corrupt), "-b", str(tmp_path / "repo")).assert_one_line_error()
    assert "not a .pipper bundle" in line
    assert not (tmp_path / "repo").exists()


def test_access_denied_for_reader_publishing(auth_s3: AuthS3, tmp_path: Path) -> None:
    url = f"s3://{auth_s3.bucket}/p"
    run_cli("publish", str(_bundle(tmp_path)), "-b", url, env=auth_s3.env(auth_s3.publisher)).assert_ok()
    line = run_cli("publish", str(_bundle(tmp_path, version="2.0")), "-b", url,
                   env=auth_s3.env(auth_s3.reader)).assert_one_line_error()
    assert "AccessDenied" in line and "may read but not publish" in line
    run_cli("info", "pkg", "-b", url, env=auth_s3.env(auth_s3.reader)).assert_ok()


def test_wrong_secret(auth_s3: AuthS3) -> None:
    env = auth_s3.env((auth_s3.reader[0], "wrong-secret"))
    line = run_cli("info", "pkg", "-b", f"s3://{auth_s3.bucket}/p", env=env).assert_one_line_error()
    assert "credentials rejected" in line and "wrong-secret" not in line


def test_traceback_only_with_verbose(tmp_path: Path) -> None:
    result = run_cli("publish", str(tmp_path / "missing.pipper"), "-b", str(tmp_path / "r"), "-v")
    assert result.code == 1 and "error:" in result.stderr
    plain = run_cli("publish", str(tmp_path / "missing.pipper"), "-b", str(tmp_path / "r"))
    assert "Traceback" not in plain.output
