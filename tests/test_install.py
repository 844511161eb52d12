"""`pipper install`: real pip into fresh venvs, a moto S3 server, and a local public index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from poetry_pipper.bundle import make_bundle

from .helpers import Result, make_wheel, only_file, run_cli
from .servers import PublicIndex, RepoUnderTest, Venv, pip_env


def publish(repo: RepoUnderTest, tmp_path: Path, name: str, version: str, **kwargs) -> Path:  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path / "w" / f"{name}-{version}", name, version, **kwargs)
    bundle, _ = make_bundle(wheel, tmp_path / "b" / f"{name}-{version}")
    repo.cli("publish", str(bundle), "-b", repo.url).assert_ok()
    return bundle


def install(venv: Venv, repo: RepoUnderTest, public: PublicIndex, *args: str, cwd: Path | None = None) -> Result:
    return run_cli("install", *args, "-b", repo.url, python=venv.python, cwd=cwd,
                   env={**repo.env, **pip_env(public)})


def version_of(venv: Venv, module: str) -> str:
    proc = venv.run(f"import {module}; print({module}.VERSION)")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def wheel_gets(repo: RepoUnderTest) -> list:  # type: ignore[type-arg]
    return [r for r in repo.requests() if r.method == "GET" and r.path.split("?")[0].endswith(".whl")]


def test_private_chain_with_public_leaf(repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(repo, tmp_path, "chain-c", "1.0.0", requires=["tinypublic>=1"])
    publish(repo, tmp_path, "chain-b", "1.0.0", requires=["chain-c"])
    publish(repo, tmp_path, "chain-b", "2.0.0", requires=["chain-c"])
    publish(repo, tmp_path, "chain-a", "1.0.0", requires=["chain-b<2", "chain-c; python_version < '3'"])
    repo.mark()
    result = install(venv, repo, public_index, "chain-a").assert_ok()
    assert "Successfully installed" in result.stdout
    for module in ("chain_a", "chain_b", "chain_c", "tinypublic"):
        assert venv.has(module), module
    assert version_of(venv, "chain_b") == "1.0.0"
    if repo.kind == "s3":
        gets = [r for r in repo.requests() if r.method == "GET"]
        # one index GET per private package, one 404 for the public name (plus one LIST of the root,
        # once per run, looking for a pipper 0.x folder of that name), one GET per wheel
        assert len(gets) == 3 + 1 + 1 + 3, gets


def test_dependency_confusion_is_impossible(repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    """The public index carries `squatted` 99.0.0; the private 1.0.0 is what gets installed."""
    publish(repo, tmp_path, "squatted", "1.0.0", body="SOURCE = 'private'\nVERSION = '1.0.0'\n")
    publish(repo, tmp_path, "needs-squatted", "1.0.0", requires=["squatted"])
    install(venv, repo, public_index, "needs-squatted").assert_ok()
    assert version_of(venv, "squatted") == "1.0.0"
    assert venv.run("import squatted; print(squatted.SOURCE)").stdout.strip() == "private"
    # Even -u does not reach for the public 99.0.0.
    install(venv, repo, public_index, "needs-squatted", "-u").assert_ok()
    assert version_of(venv, "squatted") == "1.0.0"


def test_upgrade_flag_and_spec_forms(s3_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    repo = s3_repo
    for version in ("1.0.0", "1.1.0", "1.2.0rc1", "2.0.0"):
        publish(repo, tmp_path, "upme", version)
    install(venv, repo, public_index, "upme:1.0.0").assert_ok()
    assert version_of(venv, "upme") == "1.0.0"
    repo.mark()
    kept = install(venv, repo, public_index, "upme:1.*").assert_ok()
    assert "already installed" in kept.stdout and wheel_gets(repo) == []
    assert version_of(venv, "upme") == "1.0.0"
    install(venv, repo, public_index, "upme:1.*", "-u").assert_ok()
    assert version_of(venv, "upme") == "1.1.0"
    install(venv, repo, public_index, "upme>=1,<2", "--pre", "-u").assert_ok()
    assert version_of(venv, "upme") == "1.2.0rc1"
    install(venv, repo, public_index, "upme~=1.0", "-u").assert_ok()  # -u never downgrades, as pip -U
    assert version_of(venv, "upme") == "1.2.0rc1"
    install(venv, repo, public_index, "upme", "-u").assert_ok()
    assert version_of(venv, "upme") == "2.0.0"


def test_target_directory(local_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(local_repo, tmp_path, "targeted", "1.0.0", requires=["tinypublic"])
    target = tmp_path / "target"
    install(venv, local_repo, public_index, "targeted", "-t", str(target)).assert_ok()
    assert (target / "targeted" / "__init__.py").exists() and (target / "tinypublic").is_dir()
    assert not venv.has("targeted")
    again = install(venv, local_repo, public_index, "targeted", "-t", str(target)).assert_ok()
    assert "already installed" in again.stdout


def test_reinstall_uses_the_cache(s3_repo: RepoUnderTest, venv_template: Path, public_index: PublicIndex, tmp_path: Path) -> None:
    import shutil

    publish(s3_repo, tmp_path, "cached-a", "1.0.0", requires=["cached-b"])
    publish(s3_repo, tmp_path, "cached-b", "1.0.0")
    first, second = Venv(tmp_path / "v1"), Venv(tmp_path / "v2")
    for v in (first, second):
        shutil.copytree(venv_template, v.path, symlinks=True)
    s3_repo.mark()
    install(first, s3_repo, public_index, "cached-a").assert_ok()
    assert len(wheel_gets(s3_repo)) == 2
    s3_repo.mark()
    install(second, s3_repo, public_index, "cached-a").assert_ok()
    assert wheel_gets(s3_repo) == []
    assert second.has("cached_a") and second.has("cached_b")


def test_dry_run_prints_plan_and_installs_nothing(local_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(local_repo, tmp_path, "dry-a", "1.0.0", requires=["dry-b>=2"])
    publish(local_repo, tmp_path, "dry-b", "2.5.0")
    out = install(venv, local_repo, public_index, "dry-a", "--dry-run").assert_ok().stdout
    assert "install  dry-a 1.0.0" in out and "dry-b 2.5.0" in out and local_repo.url in out
    plan = json.loads(install(venv, local_repo, public_index, "dry-a", "--dry-run", "--json").assert_ok().stdout)
    assert {(p["name"], p["version"], p["action"]) for p in plan} == {("dry-a", "1.0.0", "install"), ("dry-b", "2.5.0", "install")}
    assert not venv.has("dry_a")


def test_cycles_and_pipper_json(local_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(local_repo, tmp_path, "cyc-a", "1.0.0", requires=["cyc-b"])
    publish(local_repo, tmp_path, "cyc-b", "1.0.0", requires=["cyc-a"])
    project = tmp_path / "project"
    project.mkdir()
    (project / "pipper.json").write_text(json.dumps({"dependencies": ["cyc-a:1.*"]}))
    install(venv, local_repo, public_index, cwd=project).assert_ok()  # ./pipper.json by default
    assert venv.has("cyc_a") and venv.has("cyc_b")


def test_bundle_dependencies_list_is_followed(local_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    """The 0.x way: a bundle's pipper.json `dependencies` names private packages."""
    from poetry_pipper.bundle import inspect_wheel, meta_for, write_bundle

    publish(local_repo, tmp_path, "legacy-dep", "1.5.0")
    wheel = make_wheel(tmp_path / "w2", "legacy-top", "1.0.0")
    bundle = write_bundle(wheel, meta_for(inspect_wheel(wheel), ["legacy-dep:1.*"]), tmp_path / "b2")
    local_repo.cli("publish", str(bundle), "-b", local_repo.url).assert_ok()
    install(venv, local_repo, public_index, "legacy-top").assert_ok()
    assert version_of(venv, "legacy_dep") == "1.5.0"


def test_local_bundle_and_wheel_files(local_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(local_repo, tmp_path, "file-dep", "1.0.0")
    wheel = make_wheel(tmp_path / "w3", "file-top", "1.0.0", requires=["file-dep"])
    bundle, _ = make_bundle(wheel, tmp_path / "b3")
    install(venv, local_repo, public_index, str(bundle)).assert_ok()
    assert venv.has("file_top") and venv.has("file_dep")
    plain = make_wheel(tmp_path / "w4", "plain-wheel", "0.1")
    run_cli("install", str(plain), python=venv.python, env=pip_env(public_index)).assert_ok()
    assert venv.has("plain_wheel")


def test_conflict_names_both_requirements(local_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(local_repo, tmp_path, "shared", "1.0.0")
    publish(local_repo, tmp_path, "shared", "2.0.0")
    publish(local_repo, tmp_path, "wants-old", "1.0.0", requires=["shared<2"])
    publish(local_repo, tmp_path, "wants-new", "1.0.0", requires=["shared>=2"])
    line = install(venv, local_repo, public_index, "wants-old", "wants-new").assert_one_line_error()
    assert "shared<2" in line and "shared>=2" in line and "wants-old" in line and "wants-new" in line
    assert not venv.has("wants_old")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nope"], "not found"),
        (["present:>=5"], "no version of present matches"),
        (["present", "-i", "/nonexistent/pipper.json"], "no such file"),
        (["needs-missing-public"], "pip failed"),
        (["present:1.0.0", "--target", "x", "--user"], "cannot be combined"),
    ],
)
def test_install_errors(local_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path,
                        args: list[str], expected: str) -> None:
    publish(local_repo, tmp_path, "present", "1.0.0")
    publish(local_repo, tmp_path, "needs-missing-public", "1.0.0", requires=["no-such-public-package"])
    line = install(venv, local_repo, public_index, *args).assert_one_line_error()
    assert expected in line
    assert not venv.has("present") and not venv.has("needs_missing_public")


def test_hash_mismatch_installs_nothing(s3_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(s3_repo, tmp_path, "tampered", "1.0.0")
    repo = s3_repo.open()
    release = repo.require_index("tampered").get("1.0.0")
    repo.storage.put(only_file(release).key, make_wheel(tmp_path / "evil", "tampered", "1.0.0", body="EVIL = 1\n").read_bytes())
    line = install(venv, s3_repo, public_index, "tampered").assert_one_line_error()
    assert "hash mismatch" in line
    assert not venv.has("tampered")


def test_corrupt_bundle_installs_nothing(venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    bad = tmp_path / "bad-1.0.pipper"
    bad.write_bytes(b"this is not a zip")
    result = run_cli("install", str(bad), python=venv.python, env=pip_env(public_index))
    assert "not a .pipper bundle" in result.assert_one_line_error()


def test_info_local_needs_no_repository_or_credentials(local_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    publish(local_repo, tmp_path, "shown", "1.0.0")
    publish(local_repo, tmp_path, "shown", "1.1.0")
    install(venv, local_repo, public_index, "shown:1.0.0").assert_ok()
    bare = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_CONFIG_FILE": "/nonexistent"}
    out = run_cli("info", "shown", "-l", python=venv.python, env=bare).assert_ok().stdout
    assert out.strip() == "shown: 1.0.0"
    data = json.loads(run_cli("info", "shown", "-l", "--json", python=venv.python, env=bare).assert_ok().stdout)
    assert data == {"name": "shown", "installed": "1.0.0"}
    assert run_cli("info", "absent", "-l", python=venv.python, env=bare).code == 1
    # With the repository: the installed version, the published ones, and the upgrade.
    remote = run_cli("info", "shown", "-b", local_repo.url, python=venv.python).assert_ok().stdout
    assert "installed: 1.0.0" in remote and "1.1.0  (latest)" in remote and "Upgrade available: 1.0.0 -> 1.1.0" in remote


def test_user_site(local_repo: RepoUnderTest, venv: Venv, public_index: PublicIndex, tmp_path: Path) -> None:
    """--user goes to the user site (pip allows it in a venv that sees the system site)."""
    cfg = venv.path / "pyvenv.cfg"
    cfg.write_text(cfg.read_text().replace("include-system-site-packages = false", "include-system-site-packages = true"))
    publish(local_repo, tmp_path, "user-pkg", "1.0.0")
    userbase = tmp_path / "userbase"
    run_cli("install", "user-pkg", "--user", "-b", local_repo.url, python=venv.python,
            env={**pip_env(public_index), "PYTHONUSERBASE": str(userbase)}).assert_ok()
    assert list(userbase.glob("lib/python*/site-packages/user_pkg/__init__.py"))
