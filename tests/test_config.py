"""The config file (location, atomic 0600 writes, corrupt files, the pipper 0.x file) and `pipper repository`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from poetry_pipper import config as cfg
from poetry_pipper.errors import PipperError

from .helpers import ROOT, make_wheel, run_cli
from .servers import PublicIndex, RepoUnderTest, Venv, pip_env

KEY = "AKIACONFIGTESTKEY0001"
SECRET = "cfgSecret/abcdefghijklmnopqrstuvwxyz0123"


def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "poetry-pipper" / "config.json"


def stored() -> dict:  # type: ignore[type-arg]
    return json.loads(config_file().read_text())  # type: ignore[no-any-return]


# -- where the file lives ----------------------------------------------------------------------


def test_config_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cfg.config_path() == tmp_path / "user-config" / "poetry-pipper" / "config.json"
    monkeypatch.setenv("PIPPER_CONFIG_DIR", str(tmp_path / "explicit"))
    assert cfg.config_path() == tmp_path / "explicit" / "config.json"
    monkeypatch.delenv("PIPPER_CONFIG_DIR")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert cfg.config_path() == tmp_path / "home" / ".config" / "poetry-pipper" / "config.json"


def test_pipper_config_dir_is_used_by_the_cli(tmp_path: Path) -> None:
    run_cli("repository", "add", "team", "-b", "s3://bucket-one/pypi",
            env={"PIPPER_CONFIG_DIR": str(tmp_path / "elsewhere")}).assert_ok()
    assert json.loads((tmp_path / "elsewhere" / "config.json").read_text())["repositories"]["team"]
    assert not config_file().exists()


# -- writing -----------------------------------------------------------------------------------


def test_saved_with_mode_0600_atomically(tmp_path: Path) -> None:
    run_cli("repository", "add", "team", "-b", "s3://bucket-one/pypi", "-c", KEY, SECRET).assert_ok()
    path = config_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")] == ["config.json"]
    assert stored()["repositories"]["team"]["secret_access_key"] == SECRET


def test_failed_write_leaves_the_old_file(monkeypatch: pytest.MonkeyPatch) -> None:
    config = cfg.Config()
    config.repositories["a"] = cfg.RepositoryConfig("a", "s3://bucket-one/pypi")
    cfg.save(config)
    before = config_file().read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    config.repositories["b"] = cfg.RepositoryConfig("b", "s3://bucket-two/pypi")
    with pytest.raises(PipperError, match="cannot write config file .*No space left"):
        cfg.save(config)
    assert config_file().read_bytes() == before
    assert [p.name for p in config_file().parent.iterdir()] == ["config.json"]


@pytest.mark.parametrize("where", ["itself", "parent"])
def test_refuses_a_world_writable_location(where: str, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # world-writable, no sticky bit
    target = shared if where == "itself" else shared / "pipper"
    result = run_cli("repository", "add", "team", "-b", "s3://bucket-one/pypi", "-c", KEY, SECRET,
                     env={"PIPPER_CONFIG_DIR": str(target)})
    line = result.assert_one_line_error()
    assert "refusing to save the config" in line and "writable by every user" in line
    assert not (target / "config.json").exists()


def test_concurrent_adds_are_all_kept() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-m", "poetry_pipper", "repository", "add", f"r{n}", "-b", f"s3://bucket-{n:03}/p"],
                         env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for n in range(6)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert sorted(stored()["repositories"]) == [f"r{n}" for n in range(6)]


# -- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("", "the file is empty"),
        ('{"repositories": {"team": {"bucket": "s3://b/p", "secret_access_key": "' + SECRET + '"', "not valid JSON"),
        ("[1, 2]", "top level must be a JSON object"),
        ('{"repositories": {"team": {"bucket": 3}}}', "'bucket' must be a string"),
        ('{"repositories": {"team": {"bucket": "s3://bucket-one/p", "secret_access_key": "' + SECRET + '"}}}',
         "needs both 'access_key_id' and 'secret_access_key'"),
        ('{"default": "nope", "repositories": {}}', "the default repository 'nope' is not defined"),
    ],
)
def test_corrupt_file_is_a_clear_error(content: str, why: str) -> None:
    config_file().parent.mkdir(parents=True)
    config_file().write_text(content)
    for args in (["repository", "list"], ["repository", "exists", "team"], ["info", "pkg"],
                 ["info", "pkg", "-r", "team"], ["repository", "add", "x", "-b", "s3://bucket-one/p"]):
        result = run_cli(*args)
        line = result.assert_one_line_error()
        assert f"corrupt config file {config_file()}" in line and why in line, line
        assert SECRET not in result.output
    assert config_file().read_text() == content  # never overwritten


def test_newer_format_is_refused() -> None:
    config_file().parent.mkdir(parents=True)
    config_file().write_text('{"version": 99, "repositories": {}}')
    assert "upgrade poetry-pipper" in run_cli("repository", "list").assert_one_line_error()


def test_pipper_0x_file_is_read_when_no_new_config(tmp_path: Path) -> None:
    legacy = tmp_path / "home" / ".pipper" / "repositories.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps({
        "repositories": {
            "old": {"bucket": "old-bucket", "profile": None, "root_prefix": "pipper",
                    "access_key_id": KEY, "secret_access_key": SECRET, "session_token": None},
            "rooted": {"bucket": "rooted-bucket", "profile": "ci", "root_prefix": ""},
        },
        "default": "old",
    }))
    listing = json.loads(run_cli("repository", "list", "--json").assert_ok().stdout)
    assert listing["legacy"] is True and listing["default"] == "old"
    by_name = {r["name"]: r for r in listing["repositories"]}
    assert by_name["old"]["bucket"] == "s3://old-bucket/pipper"
    assert by_name["old"]["access_key_id"] == "AKIA****" and by_name["old"]["secret_access_key"] == "****"
    assert by_name["rooted"]["bucket"] == "s3://rooted-bucket" and by_name["rooted"]["profile"] == "ci"
    # The first change writes the new file with everything in it; the old file is left alone.
    before = legacy.read_bytes()
    result = run_cli("repository", "add", "new", "-b", "s3://new-bucket/p").assert_ok()
    assert "copied 2 repositories" in result.stderr
    assert sorted(stored()["repositories"]) == ["new", "old", "rooted"] and stored()["default"] == "old"
    assert legacy.read_bytes() == before
    # Once a new config exists the old file is not read any more.
    run_cli("repository", "remove", "old").assert_ok()
    assert run_cli("repository", "exists", "old").code == 1


# -- pipper repository ---------------------------------------------------------------------------


def test_add_list_exists_remove() -> None:
    out = run_cli("repository", "add", "team", "-b", "s3://bucket-one/pypi", "-c", KEY, SECRET, "-d",
                  "--region", "eu-west-1").assert_ok().stdout
    assert "Added repository 'team' (default): s3://bucket-one/pypi, keys AKIA****" in out
    run_cli("repository", "add", "local", "-b", "./relative-dir").assert_ok()
    assert stored()["repositories"]["local"]["bucket"].startswith("file:///")  # made absolute
    run_cli("repository", "add", "bare", "-b", "bare-bucket", "-p", "dev").assert_ok()
    assert stored()["repositories"]["bare"] == {"bucket": "s3://bare-bucket/pipper", "profile": "dev"}

    listing = run_cli("repository", "list").assert_ok().stdout
    lines = listing.splitlines()
    assert lines[0].startswith("  bare ") and "profile 'dev'" in lines[0]
    assert lines[2].startswith("* team ") and "keys AKIA****" in lines[2] and "region eu-west-1" in lines[2]
    data = json.loads(run_cli("repository", "list", "--json").assert_ok().stdout)
    assert data["default"] == "team"
    team = next(r for r in data["repositories"] if r["name"] == "team")
    assert team == {"name": "team", "bucket": "s3://bucket-one/pypi", "endpoint_url": None, "region": "eu-west-1",
                    "profile": None, "access_key_id": "AKIA****", "secret_access_key": "****",
                    "session_token": None, "default": True}

    ok = run_cli("repository", "exists", "team")
    assert ok.code == 0 and ok.stdout.strip() == "repository 'team' exists: s3://bucket-one/pypi (default)"
    missing = run_cli("repository", "exists", "nope")
    assert missing.code == 1 and missing.stdout.strip() == "repository 'nope' does not exist" and not missing.stderr

    removed = run_cli("repository", "remove", "team").assert_ok().stdout
    assert "it was the default" in removed
    assert stored()["default"] is None and "team" not in stored()["repositories"]


def test_modify_changes_only_the_flags_given() -> None:
    run_cli("repository", "add", "team", "-b", "s3://bucket-one/pypi", "-c", KEY, SECRET,
            "--endpoint-url", "http://127.0.0.1:9000", "--region", "eu-west-1").assert_ok()
    run_cli("repository", "modify", "team", "--region", "us-east-2").assert_ok()
    assert stored()["repositories"]["team"] == {
        "bucket": "s3://bucket-one/pypi", "endpoint_url": "http://127.0.0.1:9000", "region": "us-east-2",
        "access_key_id": KEY, "secret_access_key": SECRET}
    run_cli("repository", "modify", "team", "-b", "s3://bucket-two/other", "--endpoint-url", "").assert_ok()
    assert stored()["repositories"]["team"] == {
        "bucket": "s3://bucket-two/other", "region": "us-east-2", "access_key_id": KEY, "secret_access_key": SECRET}
    run_cli("repository", "modify", "team", "-p", "dev").assert_ok()  # a profile replaces stored keys
    assert stored()["repositories"]["team"] == {"bucket": "s3://bucket-two/other", "region": "us-east-2", "profile": "dev"}
    run_cli("repository", "modify", "team", "-c", KEY, SECRET, "0").assert_ok()  # keys replace the profile
    assert stored()["repositories"]["team"] == {
        "bucket": "s3://bucket-two/other", "region": "us-east-2", "access_key_id": KEY, "secret_access_key": SECRET}
    assert stored()["default"] is None
    run_cli("repository", "modify", "team", "-d").assert_ok()
    assert stored()["default"] == "team"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["repository", "add", "team"], "needs -b/--bucket"),
        (["repository", "add", "bad name!", "-b", "s3://bucket-one/p"], "invalid repository name"),
        (["repository", "add", "x", "-b", "Bad_Bucket!"], "invalid bucket"),
        (["repository", "add", "x", "-b", "s3://bucket-one/p", "-p", "dev", "-c", KEY, SECRET], "not both"),
        (["repository", "add", "x", "-b", "s3://bucket-one/p", "-c", KEY], "KEY SECRET [TOKEN]"),
        (["repository", "add", "dup", "-b", "s3://bucket-one/p"], "already exists"),
        (["repository", "modify", "nope", "--region", "x"], "unknown repository 'nope'"),
        (["repository", "modify", "dup"], "nothing to change"),
        (["repository", "modify", "dup", "-b", ""], "cannot be cleared"),
        (["repository", "remove", "nope"], "unknown repository 'nope'"),
        (["repository", "remove", "dup", "-d"], "takes only NAME"),
        (["repository", "exists"], "needs a NAME"),
        (["repository", "list", "dup"], "takes no NAME"),
        (["repository", "frobnicate"], "unknown action 'frobnicate'"),
    ],
)
def test_repository_errors(args: list[str], expected: str) -> None:
    run_cli("repository", "add", "dup", "-b", "s3://bucket-one/p").assert_ok()
    before = config_file().read_bytes()
    line = run_cli(*args).assert_one_line_error()
    assert expected in line, line
    assert KEY not in line
    assert config_file().read_bytes() == before


def test_named_repository_needs_no_other_flag(s3_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    """`pipper install foo -r team`: the repository gives the bucket, prefix and endpoint."""
    assert s3_repo.server is not None
    run_cli("repository", "add", "team", "-b", s3_repo.url, "--endpoint-url", s3_repo.server.endpoint).assert_ok()
    no_endpoint = {"AWS_ENDPOINT_URL": ""}
    wheel = make_wheel(tmp_path / "w", "teampkg", "1.0.0", requires=["tinypublic"])
    run_cli("publish", str(wheel), "-r", "team", env=no_endpoint).assert_ok()
    info = run_cli("info", "teampkg", "-r", "team", "-v", env=no_endpoint).assert_ok()
    assert f"repository: {s3_repo.url} from repository 'team'" in info.stderr
    run_cli("install", "teampkg", "-r", "team", python=venv.python,
            env={**no_endpoint, **pip_env(public_index)}).assert_ok()
    assert venv.has("teampkg") and venv.has("tinypublic")
    # -b given explicitly beats the repository's bucket (the endpoint still comes from the repository).
    other = s3_repo.server.new_bucket()
    missing = run_cli("info", "teampkg", "-r", "team", "-b", f"s3://{other}/team", env=no_endpoint)
    assert "package 'teampkg' not found" in missing.assert_one_line_error()


def test_default_repository_supplies_the_location(repo: RepoUnderTest, tmp_path: Path) -> None:
    run_cli("repository", "add", "main", "-b", repo.url, "-d").assert_ok()
    run_cli("publish", str(make_wheel(tmp_path / "w", "defpkg", "1.0.0")), env=repo.env).assert_ok()
    info = repo.cli("info", "defpkg", "-v").assert_ok()
    assert "defpkg" in info.stdout and "from default repository 'main'" in info.stderr
    run_cli("repository", "remove", "main").assert_ok()
    assert "no repository given" in repo.cli("info", "defpkg").assert_one_line_error()


def test_local_bundle_dependencies_come_from_a_named_or_default_repository(repo: RepoUnderTest, tmp_path: Path) -> None:
    from poetry_pipper.bundle import make_bundle

    run_cli("repository", "add", "team", "-b", repo.url).assert_ok()
    run_cli("publish", str(make_wheel(tmp_path / "dep", "privdep", "1.0.0")), "-r", "team", env=repo.env).assert_ok()
    bundle, _ = make_bundle(make_wheel(tmp_path / "app", "localapp", "1.0.0", requires=["privdep"]), tmp_path / "b")
    for args in (["-r", "team"], ["-b", repo.url]):
        plan = repo.cli("install", str(bundle), "--dry-run", *args).assert_ok().stdout
        assert "privdep 1.0.0" in plan, plan
    run_cli("repository", "modify", "team", "-d").assert_ok()
    assert "privdep 1.0.0" in repo.cli("install", str(bundle), "--dry-run").assert_ok().stdout
