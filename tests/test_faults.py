"""Publish, download, install and the Poetry lock through a fault-injecting proxy (tests/faultproxy.py).

Every command either succeeds (botocore's retries, pipper's own retries of cut bodies and
of a wheel whose sha256 does not match) or fails with one readable line. Whatever happens,
nothing partial becomes visible, no corrupt wheel is saved or installed, and a version
that was published is never lost: `pipper verify`, run directly against the server, is clean.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest

from poetry_pipper.bundle import make_bundle
from poetry_pipper.index import PackageIndex
from poetry_pipper.publish import publish_file

from .faultproxy import KINDS
from .helpers import Result, make_wheel, only_file, run_cli
from .servers import PublicIndex, RepoUnderTest, Venv, pip_env

RATE = 0.25
SEED = 20261122
ATTEMPTS = 6


def retried(run, check_failure) -> tuple[Result, int]:  # type: ignore[no-untyped-def]
    """Run a command until it succeeds; every failure must be one readable line."""
    for attempt in range(1, ATTEMPTS + 1):
        result = run(attempt)
        if result.code == 0:
            return result, attempt
        result.assert_one_line_error()
        check_failure(result, attempt)
    raise AssertionError(f"still failing after {ATTEMPTS} attempts: {result.stderr}")


def visible_state_is_whole(repo: RepoUnderTest) -> None:
    """What readers can see (the index) only names versions whose wheel and record exist."""
    core = repo.open()
    blob = core.storage.get("packages/shaky/index.json")
    if blob is None:
        return
    for version, release in PackageIndex.from_bytes(blob.data, "index").releases.items():
        for dist in release.files.values():
            assert core.storage.exists(dist.key), f"{version} is indexed but its wheel is missing"
            assert core.storage.get(f"packages/shaky/releases/{version}/{dist.filename}.json") is not None


def test_publish_download_install_through_faults(s3_repo: RepoUnderTest, fault_proxy, venv: Venv,  # type: ignore[no-untyped-def]
                                                  public_index: PublicIndex, tmp_path: Path) -> None:
    proxy = fault_proxy(s3_repo.server.endpoint, RATE, SEED)
    env = {"AWS_ENDPOINT_URL": proxy.url}
    versions = [f"1.{n}.0" for n in range(8)]
    bundles, shas = {}, {}
    for version in versions:
        wheel = make_wheel(tmp_path / "w" / version, "shaky", version)
        bundles[version] = make_bundle(wheel, tmp_path / "b" / version)[0]
        shas[version] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    # One large enough for a multipart upload (two parts), so part uploads get faults too.
    big_wheel = make_wheel(tmp_path / "w" / "big", "shakybig", "1.0.0", padding=17 * 1024 * 1024)
    bundles["big"] = make_bundle(big_wheel, tmp_path / "b" / "big")[0]
    attempts: Counter[str] = Counter()
    lock = threading.Lock()

    def publish(version: str) -> None:
        def run(attempt: int) -> Result:
            with lock:
                attempts[version] += 1
            return run_cli("publish", str(bundles[version]), "-b", s3_repo.url, env=env)

        def check(result: Result, attempt: int) -> None:
            visible_state_is_whole(s3_repo)

        retried(run, check)

    errors: list[BaseException] = []

    def publish_share(share: list[str]) -> None:
        try:
            for version in share:
                publish(version)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    shares = [versions[0::3], versions[1::3], [*versions[2::3], "big"]]
    threads = [threading.Thread(target=publish_share, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    published = proxy.summary()

    # Directly against the server: every version is indexed with its own bytes, nothing else is there.
    repo = s3_repo.open()
    index = repo.require_index("shaky")
    assert sorted(index.releases) == sorted(versions)
    assert all(only_file(index.releases[v]).sha256 == shas[v] for v in versions)
    report = json.loads(s3_repo.cli("verify", "-b", s3_repo.url, "--json").stdout)
    assert report["ok"], report["problems"]
    assert report["versions"] == len(versions) + 1

    # Downloads through the proxy: the saved wheel is always the published one.
    for version in versions:
        out = tmp_path / "dl" / version

        def download(attempt: int, version: str = version, out: Path = out) -> Result:
            return run_cli("download", f"shaky:{version}", "-e", "-b", s3_repo.url, "-d", str(out / str(attempt)),
                           env={**env, "PIPPER_CACHE_DIR": str(out / f"cache{attempt}")})

        def nothing_saved(result: Result, attempt: int, out: Path = out) -> None:
            assert not (out / str(attempt)).exists() or not list((out / str(attempt)).iterdir())
            assert not [p for p in (out / f"cache{attempt}").rglob("*") if p.is_file()]

        _, tries = retried(download, nothing_saved)
        attempts[f"download {version}"] = tries
        wheel = out / str(tries) / f"shaky-{version}-py3-none-any.whl"
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == shas[version]

    # `pipper install` through the proxy into a fresh venv.
    install_env = {**env, **pip_env(public_index)}

    def install(attempt: int) -> Result:
        return run_cli("install", "shaky:1.7.0", "-b", s3_repo.url, python=venv.python,
                       env={**install_env, "PIPPER_CACHE_DIR": str(tmp_path / f"icache{attempt}")})

    def not_installed(result: Result, attempt: int) -> None:
        assert not venv.has("shaky")

    _, attempts["install"] = retried(install, not_installed)
    assert venv.run("import shaky; print(shaky.VERSION)").stdout.strip() == "1.7.0"

    print(f"publish phase: {published}")
    print(f"all phases: {proxy.summary()}")
    print("attempts needed:", dict(attempts))
    assert all(proxy.counts[kind] > 0 for kind in KINDS), proxy.summary()


def test_a_corrupted_wheel_is_never_saved_or_installed(s3_repo: RepoUnderTest, fault_proxy, venv: Venv,  # type: ignore[no-untyped-def]
                                                       public_index: PublicIndex, tmp_path: Path) -> None:
    """Bytes flipped in transit, with no S3 checksum to catch it: only the sha256 check is left."""
    wheel = make_wheel(tmp_path / "w", "fragile", "1.0.0")
    publish_file(s3_repo.open(), make_bundle(wheel, tmp_path / "b")[0])
    expected = hashlib.sha256(wheel.read_bytes()).hexdigest()

    once = fault_proxy(s3_repo.server.endpoint, 1.0, SEED, kinds=("corrupt",), max_faults=1)
    out = tmp_path / "once"
    run_cli("download", "fragile", "-e", "-b", s3_repo.url, "-d", str(out),
            env={"AWS_ENDPOINT_URL": once.url, "PIPPER_CACHE_DIR": str(tmp_path / "c1")}).assert_ok()
    assert once.counts["corrupt"] == 1  # the first copy was damaged, the second one is checked and kept
    assert hashlib.sha256((out / "fragile-1.0.0-py3-none-any.whl").read_bytes()).hexdigest() == expected

    always = fault_proxy(s3_repo.server.endpoint, 1.0, SEED, kinds=("corrupt",))
    env = {"AWS_ENDPOINT_URL": always.url}
    cache = tmp_path / "c2"
    out = tmp_path / "always"
    line = run_cli("download", "fragile", "-e", "-b", s3_repo.url, "-d", str(out),
                   env={**env, "PIPPER_CACHE_DIR": str(cache)}).assert_one_line_error()
    assert "hash mismatch for fragile-1.0.0-py3-none-any.whl" in line
    assert not out.exists() or not list(out.iterdir())
    assert not [p for p in cache.rglob("*") if p.is_file()]
    line = run_cli("install", "fragile", "-b", s3_repo.url, python=venv.python,
                   env={**env, **pip_env(public_index), "PIPPER_CACHE_DIR": str(cache)}).assert_one_line_error()
    assert "hash mismatch" in line and "nothing was installed" in line
    assert not venv.has("fragile")
    assert not [p for p in cache.rglob("*") if p.is_file()]
    print(f"corrupting proxies: once: {once.summary()}; always: {always.summary()}")


@pytest.mark.poetry
def test_poetry_lock_through_faults(s3_repo: RepoUnderTest, fault_proxy, public_index: PublicIndex,  # type: ignore[no-untyped-def]
                                    tmp_path: Path) -> None:
    from .poetry_helpers import Project, poetry_env, pyproject

    for name, version, requires in (("lock-a", "1.0.0", ["lock-b>=1"]), ("lock-b", "1.0.0", []),
                                    ("lock-b", "1.1.0", [])):
        wheel = make_wheel(tmp_path / "w" / f"{name}-{version}", name, version, requires=requires)
        publish_file(s3_repo.open(), make_bundle(wheel, tmp_path / "b" / f"{name}-{version}")[0])
    proxy = fault_proxy(s3_repo.server.endpoint, 0.5, SEED)
    path = tmp_path / "app"
    path.mkdir()
    (path / "pyproject.toml").write_text(pyproject(
        [("public", public_index.url + "/", "primary"), ("private", s3_repo.url, "explicit")],
        poetry_deps={"lock-a": '{ version = "*", source = "private" }'},
    ))
    app = Project(path, {**poetry_env(tmp_path), "AWS_ENDPOINT_URL": proxy.url})
    tries = []
    for _lock in range(4):  # from a cold Poetry cache each time: every lock reads the indexes again
        shutil.rmtree(tmp_path / "poetry-cache", ignore_errors=True)
        for attempt in range(1, ATTEMPTS + 1):
            result = app.poetry("lock", "--regenerate")
            if result.code == 0:
                break
            assert "Traceback" not in result.output, result.output
            print(f"poetry lock attempt {attempt} failed: {result.output.strip().splitlines()[-1]}")
        else:
            raise AssertionError(f"poetry lock kept failing: {result.output}")
        tries.append(attempt)
        assert "lock_b-1.1.0-py3-none-any.whl" in app.lock and "lock_a-1.0.0-py3-none-any.whl" in app.lock
    print(f"poetry lock x4, attempts {tries}; {proxy.summary()}")
    assert proxy.faults > 0
