"""`pipper authorize`: SigV4 presigned links, pre-authorized files and find-links pages.

The S3 side is moto in authentication mode behind :class:`~tests.sigv4_gate.SigV4Gate`, which
checks presigned signatures and expiry the way S3 does (moto's server cannot: see the gate's
docstring). Consumers run with every AWS variable removed from their environment.
"""

from __future__ import annotations

import datetime
import json
import os
import stat
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from poetry_pipper.authorize import (
    MAX_EXPIRES,
    DurationError,
    Preauthorized,
    check_sigv4,
    parse_duration,
    read_preauthorized,
    url_expiry,
    uses_temporary_credentials,
)
from poetry_pipper.bundle import make_bundle
from poetry_pipper.errors import PipperError

from .helpers import Result, make_wheel, run_cli
from .servers import AuthS3, PublicIndex, RepoUnderTest, Venv, pip_env
from .sigv4_gate import SigV4Gate

# -- durations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("12mins", 720), ("130m", 7800), ("18s", 18), ("3hr", 10800), ("2 days", 172800),
        ("45", 2700), ("1", 60), (" 5 min ", 300), ("1 second", 1), ("2secs", 2), ("4 hours", 14400),
        ("1hrs", 3600), ("1 minute", 60), ("1day", 86400), ("7d", MAX_EXPIRES), ("10080", MAX_EXPIRES),
        ("604800s", MAX_EXPIRES), ("168h", MAX_EXPIRES), ("007m", 420),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "  ", "0", "0s", "00 days", "8d", "604801s", "10081", "169h", "1.5h", "-5m", "+5m", "5 weeks",
     "5mo", "h", "1h30m", "1 h 30 m", "3 HR", "5 minutess", "99999999999999999999d", "1e3", "five"],
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert "\n" not in message and "-e/--expires" in message
    if text.strip() in ("0", "0s", "00 days"):
        assert "more than zero" in message
    if text in ("8d", "604801s", "10081", "169h", "99999999999999999999d"):
        assert "7 days" in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-e", "8d"], "7 days"),
        (["-e", "0"], "more than zero"),
        (["-e", "soon"], "invalid duration 'soon'"),
        (["--format", "yaml"], "unknown --format 'yaml'"),
        (["--format", "find-links", "-o", "links.txt"], "use -o links.html"),
    ],
)
def test_bad_options_fail_before_any_request(args: list[str], expected: str, tmp_path: Path) -> None:
    # The endpoint is closed: any request would fail with a different message.
    work = tmp_path / "work"
    work.mkdir()
    result = run_cli("authorize", "foo", "-b", "s3://nowhere-bucket/p", *args,
                     env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, cwd=work)
    assert expected in result.assert_one_line_error()
    assert not list(work.iterdir())


def test_local_repository_is_refused(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(local_repo, tmp_path, "localpkg", "1.0.0")
    line = local_repo.cli("authorize", "localpkg", "-b", local_repo.url).assert_one_line_error()
    assert "needs an S3 repository" in line and "local directory" in line


# -- URL styles (parsing only, no network) ----------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_virtual_hosted_style_for_real_aws(region: str) -> None:
    from poetry_pipper.authorize import sign
    from poetry_pipper.credentials import Credentials
    from poetry_pipper.index import DistFile, Release
    from poetry_pipper.location import Location
    from poetry_pipper.repository import Repository
    from poetry_pipper.resolve import Pick, Resolution
    from poetry_pipper.storage.s3 import S3Storage

    bucket = "pipper-authorize-test"
    storage = S3Storage(Location(bucket=bucket, prefix="team", region=region),
                        Credentials("AKIAEXAMPLEKEY000001", "not-a-real-secret"))
    dist = DistFile("Foo", "1.0.0", "foo-1.0.0-py3-none-any.whl", "a" * 64, 10)
    doc = sign(Repository(storage), Resolution({"foo": Pick(Release.of(dist), dist)}), 900, requested=["foo"])
    (entry,) = doc.packages
    parts = urlsplit(entry.url)
    assert parts.scheme == "https"
    assert parts.netloc in (f"{bucket}.s3.{region}.amazonaws.com", f"{bucket}.s3.amazonaws.com")
    assert parts.path == f"/team/packages/foo/files/{'a' * 64}/foo-1.0.0-py3-none-any.whl"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    key_id, _date, signed_region, service, terminator = query["X-Amz-Credential"].split("/")
    assert (key_id, signed_region, service, terminator) == ("AKIAEXAMPLEKEY000001", region, "s3", "aws4_request")
    assert query["X-Amz-Expires"] == "900" and query["X-Amz-SignedHeaders"] == "host"
    assert len(query["X-Amz-Signature"]) == 64
    assert not {"AWSAccessKeyId", "Signature", "Expires"} & set(query)
    assert entry.expires == url_expiry(entry.url) and doc.expires == entry.expires
    assert not uses_temporary_credentials(entry.url)
    # Temporary credentials put their session token in the link (the command warns about it).
    temporary = S3Storage(Location(bucket=bucket, region=region),
                          Credentials("ASIAEXAMPLEKEY000001", "not-a-real-secret", "session-token"))
    assert uses_temporary_credentials(temporary.presign("k", 60))


def test_sigv2_urls_are_refused() -> None:
    check_sigv4("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab")
    for url in (
        "https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIA&Expires=1700000000&Signature=abc%3D",
        "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "https://b.s3.amazonaws.com/k",
    ):
        with pytest.raises(PipperError, match="not SigV4"):
            check_sigv4(url)


# -- against moto in authentication mode, behind the SigV4 gate ---------------------------


def publish(repo: RepoUnderTest, tmp_path: Path, name: str, version: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path / "w" / f"{name}-{version}", name, version, **kwargs)
    bundle, _ = make_bundle(wheel, tmp_path / "b" / f"{name}-{version}")
    repo.cli("publish", str(bundle), "-b", repo.url).assert_ok()


@dataclass
class Published:
    repo: RepoUnderTest
    tag: str  # the prefix of every package name, unique per test (the session shares the bucket)


@pytest.fixture
def published(auth_s3: AuthS3, gate: SigV4Gate, tmp_path: Path) -> Published:
    """A private chain (top -> mid<2 -> leaf -> tinypublic) published with the publisher's keys."""
    tag = f"t{uuid.uuid4().hex[:8]}"
    repo = RepoUnderTest(f"s3://{auth_s3.bucket}/{tag}", auth_s3.env(auth_s3.publisher))
    publish(repo, tmp_path, f"{tag}-leaf", "1.0.0", requires=["tinypublic>=1"])
    publish(repo, tmp_path, f"{tag}-mid", "1.0.0", requires=[f"{tag}-leaf"])
    publish(repo, tmp_path, f"{tag}-mid", "2.0.0", requires=[f"{tag}-leaf"])
    publish(repo, tmp_path, f"{tag}-top", "1.0.0", requires=[f"{tag}-mid<2"])
    return Published(repo, tag)


def authorize(auth_s3: AuthS3, gate: SigV4Gate, published: Published, *args: str, cwd: Path | None = None) -> Result:
    """Run `pipper authorize` with the reader's keys, signing for the gate's endpoint (path-style)."""
    env = {**auth_s3.env(auth_s3.reader), "AWS_ENDPOINT_URL": gate.endpoint}
    return run_cli("authorize", *args, "-b", published.repo.url, env=env, cwd=cwd)


def consumer_env(**extra: str) -> dict[str, str]:
    """The environment of a place without AWS credentials: no AWS_* / PIPPER_AWS_* at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PIPPER_AWS_"))}
    env.update(AWS_CONFIG_FILE="/nonexistent/aws-config", AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws-credentials",
               AWS_EC2_METADATA_DISABLED="true", NO_COLOR="1", **extra)
    return env


def consume(*args: str, python: str = sys.executable, env: dict[str, str] | None = None, cwd: Path | None = None) -> Result:
    proc = subprocess.run([python, "-m", "poetry_pipper", "--no-ansi", *args], capture_output=True, text=True,
                          env=env or consumer_env(), cwd=cwd, timeout=300, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def wheel_gets(gate: SigV4Gate) -> list:  # type: ignore[type-arg]
    return [r for r in gate.since_mark() if r.method == "GET" and r.path.endswith(".whl")]


def test_urls_are_printed_one_per_line_and_really_signed(auth_s3: AuthS3, gate: SigV4Gate, published: Published) -> None:
    import urllib.error
    import urllib.request

    tag = published.tag
    gate.mark()
    result = authorize(auth_s3, gate, published, f"{tag}-top", "-e", "12mins").assert_ok()
    requests = gate.since_mark()
    # One index GET per private package, one 404 for the public name, and nothing for the signing:
    # no wheel is read (other lookups for a missing name, e.g. an older layout, are not counted here).
    indexes = [r for r in requests if r.path.endswith("/index.json")]
    assert sorted((r.path.rsplit("/", 2)[-2], r.status) for r in indexes) == sorted(
        [(f"{tag}-top", 200), (f"{tag}-mid", 200), (f"{tag}-leaf", 200), ("tinypublic", 404)]
    ), requests
    assert wheel_gets(gate) == [] and all(r.kind == "signed" and r.method == "GET" for r in requests), requests
    urls = result.stdout.splitlines()
    assert result.stdout.endswith("\n") and result.stderr == ""
    assert [u.rsplit("?")[0].rsplit("/", 1)[-1] for u in urls] == [
        f"{tag}_leaf-1.0.0-py3-none-any.whl", f"{tag}_mid-1.0.0-py3-none-any.whl", f"{tag}_top-1.0.0-py3-none-any.whl"
    ]
    for url in urls:
        assert url.startswith(f"{gate.endpoint}/{auth_s3.bucket}/{tag}/packages/")  # path-style, custom endpoint
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["720"]
        assert query["X-Amz-Credential"][0].startswith(auth_s3.reader[0] + "/")
        assert "AWSAccessKeyId" not in query and "Signature" not in query
    # The links work without credentials; a changed one does not (the gate checks signatures).
    with urllib.request.urlopen(urls[0]) as response:
        assert response.read()[:2] == b"PK"
    for bad in (urls[0].replace("X-Amz-Expires=720", "X-Amz-Expires=721"), urls[0].replace("leaf-1.0.0", "leaf-1.0.1")):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(bad)
        assert caught.value.code == 403 and b"SignatureDoesNotMatch" in caught.value.read()


def test_preauthorized_file_installs_and_downloads_without_credentials(
    auth_s3: AuthS3, gate: SigV4Gate, published: Published, venv: Venv, public_index: PublicIndex, tmp_path: Path
) -> None:
    tag = published.tag
    out = authorize(auth_s3, gate, published, f"{tag}-top", "-e", "2 days", "-o", "preauth.json", cwd=tmp_path).assert_ok()
    assert "Wrote preauth.json (json): 3 packages" in out.stdout and "in 2 days" in out.stdout
    path = tmp_path / "preauth.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pipper-tmp-")]
    data = json.loads(path.read_text())
    assert data["format"] == "pipper-preauthorized" and data["format_version"] == 2
    assert data["created"].endswith("Z") and data["expires"].endswith("Z")
    assert data["requested"] == [f"{tag}-top"] and data["repository"] == published.repo.url
    assert {(p["name"], p["version"]) for p in data["packages"]} == {
        (f"{tag}-top", "1.0.0"), (f"{tag}-mid", "1.0.0"), (f"{tag}-leaf", "1.0.0")
    }
    for entry in data["packages"]:
        assert {"name", "version", "url", "sha256", "expires"} <= set(entry) and len(entry["sha256"]) == 64
        assert entry["url"].startswith(gate.endpoint) and entry["expires"] >= data["expires"]

    # Install in a fresh venv with no AWS credentials anywhere: only presigned GETs, one per wheel.
    gate.mark()
    result = consume("install", "-i", str(path), python=venv.python, env=consumer_env(**pip_env(public_index)))
    result.assert_ok()
    assert "Successfully installed" in result.stdout
    for module in (f"{tag}_top", f"{tag}_mid", f"{tag}_leaf", "tinypublic"):
        assert venv.has(module), module
    assert venv.run(f"import {tag}_mid; print({tag}_mid.VERSION)").stdout.strip() == "1.0.0"
    requests = gate.since_mark()
    assert len(requests) == 3 and all(r.kind == "presigned" and r.status == 200 for r in requests), requests

    # Again: already installed, nothing fetched. A dry run says where the plan comes from.
    gate.mark()
    again = consume("install", "-i", str(path), python=venv.python, env=consumer_env(**pip_env(public_index))).assert_ok()
    assert "already installed" in again.stdout and gate.since_mark() == []
    dry = consume("install", "-i", str(path), "--dry-run", "--json", env=consumer_env(**pip_env(public_index))).assert_ok()
    assert {p["name"] for p in json.loads(dry.stdout)} == {f"{tag}-top", f"{tag}-mid", f"{tag}-leaf"}
    assert all("pre-authorized" in p["source"] for p in json.loads(dry.stdout))

    # Download with a fresh cache: sha256-verified bundles, and the -e wheel form for one name.
    gate.mark()
    fresh = consumer_env(PIPPER_CACHE_DIR=str(tmp_path / "cache2"))
    saved = consume("download", "-i", str(path), "-d", str(tmp_path / "bundles"), env=fresh).assert_ok()
    assert len([line for line in saved.stdout.splitlines() if line.startswith("Saved")]) == 3
    assert len(list((tmp_path / "bundles").glob("*.pipper"))) == 3
    requests = gate.since_mark()
    assert len(requests) == 3 and all(r.kind == "presigned" and r.status == 200 for r in requests), requests


def test_find_links_page_works_with_plain_pip(
    auth_s3: AuthS3, gate: SigV4Gate, published: Published, public_index: PublicIndex, tmp_path: Path
) -> None:
    tag = published.tag
    authorize(auth_s3, gate, published, f"{tag}-top", "--format", "find-links", "-o", "links.html", "-e", "3hr",
              cwd=tmp_path).assert_ok()
    page = (tmp_path / "links.html").read_text()
    assert page.count("#sha256=") == 3 and "&amp;X-Amz-" in page and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in page
    assert "</script>" in page and page.count("<script") == 1

    # A venv with neither pipper nor boto3, and no AWS credentials: plain pip.
    plain = tmp_path / "plain"
    subprocess.run([sys.executable, "-m", "venv", str(plain)], check=True)

    def imports(module: str) -> subprocess.CompletedProcess[str]:  # away from the source tree
        return subprocess.run([str(plain / "bin" / "python"), "-c", f"import {module}; print(getattr({module}, 'VERSION', ''))"],
                              capture_output=True, text=True, cwd=tmp_path, env=consumer_env(), check=False)

    assert imports("poetry_pipper").returncode != 0 and imports("boto3").returncode != 0
    gate.mark()
    proc = subprocess.run(
        [str(plain / "bin" / "python"), "-m", "pip", "install", "--find-links", "links.html", f"{tag}-top"],
        capture_output=True, text=True, env=consumer_env(**pip_env(public_index)), cwd=tmp_path, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for module in (f"{tag}_top", f"{tag}_mid", f"{tag}_leaf", "tinypublic"):
        assert imports(module).returncode == 0, module
    assert imports(f"{tag}_mid").stdout.strip() == "1.0.0"
    requests = wheel_gets(gate)
    assert len(requests) == 3 and all(r.kind == "presigned" and r.status == 200 for r in requests), requests

    # pipper reads the page too (it embeds the pre-authorized document).
    doc = read_preauthorized(str(tmp_path / "links.html"))
    assert isinstance(doc, Preauthorized) and len(doc.packages) == 3


def test_expired_file_and_page_give_one_line(auth_s3: AuthS3, gate: SigV4Gate, published: Published, tmp_path: Path) -> None:
    tag = published.tag
    authorize(auth_s3, gate, published, f"{tag}-top", "-e", "1s", "-o", "short.json", cwd=tmp_path).assert_ok()
    authorize(auth_s3, gate, published, f"{tag}-top", "-e", "1 sec", "--format", "find-links", "-o", "short.html",
              cwd=tmp_path).assert_ok()
    docs = [read_preauthorized(str(tmp_path / name)) for name in ("short.json", "short.html")]
    deadline = max(d.expires for d in docs if d is not None)
    while _utcnow() <= deadline:  # wait until both have expired (no timing is asserted)
        time.sleep(0.2)

    # Checked before any download: one line with the time, no request at all.
    gate.mark()
    for command, name in (("install", "short.json"), ("download", "short.html"), ("install", "short.html")):
        line = consume(command, "-i", str(tmp_path / name), cwd=tmp_path).assert_one_line_error()
        assert f"pre-authorized file {tmp_path / name} expired at " in line and " UTC" in line
        assert "run `pipper authorize` again" in line and "zip" not in line
    assert gate.since_mark() == []

    # A file that claims to be valid but whose links the server refuses as expired (403): the same line.
    data = json.loads((tmp_path / "short.json").read_text())
    data["expires"] = "2999-01-01T00:00:00Z"
    for entry in data["packages"]:
        entry["expires"] = "2999-01-01T00:00:00Z"
    (tmp_path / "lying.json").write_text(json.dumps(data))
    gate.mark()
    line = consume("download", "-i", str(tmp_path / "lying.json"), "-d", str(tmp_path / "out"), cwd=tmp_path)\
        .assert_one_line_error()
    url_expires = url_expiry(data["packages"][0]["url"])
    assert url_expires is not None
    assert f"expired at {url_expires:%Y-%m-%d %H:%M:%S} UTC: run `pipper authorize` again" in line
    assert "zip" not in line and "2999" not in line
    assert gate.since_mark() and all(r.status == 403 for r in gate.since_mark())
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())

    # Renewing: the expired page given to -i is resolved and signed again.
    authorize(auth_s3, gate, published, "-i", "short.html", "-o", "renewed.json", cwd=tmp_path).assert_ok()
    renewed = read_preauthorized(str(tmp_path / "renewed.json"))
    assert renewed is not None and renewed.expires > _utcnow() and renewed.requested == [f"{tag}-top"]
    assert sorted(p.name for p in renewed.packages) == [f"{tag}-leaf", f"{tag}-mid", f"{tag}-top"]


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def test_consumer_errors(auth_s3: AuthS3, gate: SigV4Gate, published: Published, tmp_path: Path) -> None:
    tag = published.tag
    authorize(auth_s3, gate, published, f"{tag}-mid:1.*", "-o", "p.json", cwd=tmp_path).assert_ok()
    good = json.loads((tmp_path / "p.json").read_text())

    def variant(name: str, change) -> str:  # type: ignore[no-untyped-def]
        data = json.loads(json.dumps(good))
        change(data)
        (tmp_path / name).write_text(json.dumps(data))
        return str(tmp_path / name)

    def tamper_sha(data) -> None:  # type: ignore[no-untyped-def]
        data["packages"][0]["sha256"] = "0" * 64

    def tamper_url(data) -> None:  # type: ignore[no-untyped-def]
        data["packages"][0]["url"] = data["packages"][0]["url"].replace("X-Amz-Signature=", "X-Amz-Signature=00")

    def newer(data) -> None:  # type: ignore[no-untyped-def]
        data["format_version"] = 99

    cases = [
        (["-i", variant("sha.json", tamper_sha)], "hash mismatch for"),
        (["-i", variant("sig.json", tamper_url)], "refused the pre-authorized link"),
        (["-i", variant("newer.json", newer)], "upgrade poetry-pipper"),
        (["-i", str(tmp_path / "p.json"), "-b", "s3://some-bucket/p"], "drop -b"),
        (["-i", str(tmp_path / "p.json"), "not-in-file"], "not-in-file is not in the pre-authorized file"),
    ]
    for args, expected in cases:
        line = consume("download", *args, "-d", str(tmp_path / "out"), cwd=tmp_path,
                       env=consumer_env(PIPPER_CACHE_DIR=str(tmp_path / "cache"))).assert_one_line_error()
        assert expected in line, line
        assert "X-Amz-Signature" not in line  # links are secrets: messages show host and path only
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    # A name that is in the file selects it (and its private dependencies).
    consume("download", "-i", str(tmp_path / "p.json"), f"{tag}-leaf", "-d", str(tmp_path / "one"),
            env=consumer_env(PIPPER_CACHE_DIR=str(tmp_path / "cache"))).assert_ok()
    assert [p.name for p in (tmp_path / "one").iterdir()] == [f"{tag}-leaf-1.0.0.pipper"]


def test_requirements_format_cannot_be_hijacked_by_a_public_index(
    auth_s3: AuthS3, gate: SigV4Gate, public_index: PublicIndex, venv: Venv, tmp_path: Path
) -> None:
    """The public index serves `squatted` 99.0.0; the private closure has squatted 1.0.0.

    A requirements file of direct references installs the private one with plain pip and with uv;
    a find-links page used with the same index installs the public one (why the command warns).
    """
    tag = f"t{uuid.uuid4().hex[:8]}"
    repo = RepoUnderTest(f"s3://{auth_s3.bucket}/{tag}", auth_s3.env(auth_s3.publisher))
    publish(repo, tmp_path, "squatted", "1.0.0", body="SOURCE = 'PRIVATE'\n")
    publish(repo, tmp_path, f"{tag}-app", "1.0.0", requires=["squatted>=1", "tinypublic"])
    published = Published(repo, tag)
    authorize(auth_s3, gate, published, f"{tag}-app", "--format", "requirements", "-o", "private.txt", "-e", "1h",
              cwd=tmp_path).assert_ok()
    text = (tmp_path / "private.txt").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 2 and all(" @ http" in line and "X-Amz-Signature=" in line for line in lines)
    assert any(line.startswith("squatted @ ") and line.endswith("#sha256=" + line.rsplit("=", 1)[1]) for line in lines)
    assert "never commit this file" in text
    assert stat.S_IMODE((tmp_path / "private.txt").stat().st_mode) == 0o600

    pip = subprocess.run([venv.python, "-m", "pip", "install", "-r", "private.txt"], capture_output=True, text=True,
                         env=consumer_env(**pip_env(public_index)), cwd=tmp_path, check=False)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert venv.run("import squatted, tinypublic; print(squatted.SOURCE)").stdout.strip() == "PRIVATE"

    plain = tmp_path / "plain"
    subprocess.run([sys.executable, "-m", "venv", str(plain)], check=True)
    python = str(plain / "bin" / "python")
    uv = subprocess.run([str(Path(sys.executable).parent / "uv"), "pip", "install", "--python", python,
                         "--index-url", public_index.url, "-r", "private.txt"], capture_output=True, text=True,
                        env=consumer_env(UV_CACHE_DIR=str(tmp_path / "uv-cache")), cwd=tmp_path, check=False)
    assert uv.returncode == 0, uv.stderr

    def source() -> str:
        return subprocess.run([python, "-c", "import squatted; print(squatted.SOURCE)"], capture_output=True,
                              text=True, cwd=tmp_path, check=False).stdout.strip()

    assert source() == "PRIVATE"
    page = authorize(auth_s3, gate, published, f"{tag}-app", "--format", "find-links", "-o", "links.html",
                     cwd=tmp_path).assert_ok()
    assert "dependency confusion" in page.stderr and "--format requirements" in page.stderr
    pip = subprocess.run([python, "-m", "pip", "install", "--force-reinstall", "--find-links", "links.html", f"{tag}-app"],
                         capture_output=True, text=True, env=consumer_env(**pip_env(public_index)), cwd=tmp_path,
                         check=False)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert source() == "PUBLIC INDEX"  # the hazard the warning names
