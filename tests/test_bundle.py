from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from poetry_pipper.bundle import make_bundle, read_bundle, safe_version
from poetry_pipper.errors import FormatError, IntegrityError

from .helpers import ROOT, make_wheel, run_cli

EXAMPLES = ROOT / "examples"


def test_bundle_from_wheel_is_reproducible(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0.0", requires=["other>=1"], requires_python=">=3.8")
    first, meta = make_bundle(wheel, tmp_path / "a")
    second, _ = make_bundle(wheel, tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert first.name == "demo-1.0.0.pipper"
    assert meta.requires_dist == ["other>=1"] and meta.requires_python == ">=3.8"
    with zipfile.ZipFile(first) as z:
        assert sorted(z.namelist()) == ["package.meta", "package.whl"]
        data = json.loads(z.read("package.meta"))
    assert {"name", "version", "wheel_name", "sha256", "requires_dist", "requires_python", "dependencies"} <= set(data)
    assert data["safe_version"] == "v1-0-0"  # what pipper 0.x expects


@pytest.mark.parametrize("project", ["acme-strings", "acme-math", "acme-report"])
def test_bundle_builds_each_backend_without_litter(tmp_path: Path, project: str) -> None:
    """setuptools, poetry-core and hatchling; a stale wheel in dist/ is ignored; no litter."""
    source = tmp_path / project
    shutil.copytree(EXAMPLES / project, source)
    stale = make_wheel(source / "dist", project, "0.0.1")
    before = sorted(p.relative_to(source) for p in source.rglob("*"))
    result = run_cli("bundle", str(source), "-o", str(tmp_path / "out"), "--no-isolation", "--json").assert_ok()
    info = json.loads(result.stdout)
    assert Path(info["path"]).exists() and info["version"] != "0.0.1"
    assert sorted(p.relative_to(source) for p in source.rglob("*")) == before
    assert stale.exists()
    meta, wheel = read_bundle(Path(info["path"]), tmp_path)
    assert wheel.name.endswith(".whl")
    if project == "acme-report":
        assert meta.dependencies == ["acme-strings:1.*"]
        assert meta.requires_dist == ["acme-math~=2.0"]


def test_bundle_output_dir_is_created_and_defaults_to_cwd(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0.0")
    run_cli("bundle", str(wheel), cwd=tmp_path).assert_ok()
    assert (tmp_path / "demo-1.0.0.pipper").exists()
    run_cli("bundle", str(wheel), "-o", str(tmp_path / "new" / "deep")).assert_ok()
    assert (tmp_path / "new" / "deep" / "demo-1.0.0.pipper").exists()


def test_bundle_errors(tmp_path: Path) -> None:
    run_cli("bundle", str(tmp_path / "nope")).assert_one_line_error()
    (tmp_path / "empty").mkdir()
    assert "no pyproject.toml" in run_cli("bundle", str(tmp_path / "empty")).assert_one_line_error()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text("[build-system]\nrequires=[]\nbuild-backend='nonexistent_backend'\n")
    assert "building a wheel" in run_cli("bundle", str(broken), "--no-isolation").assert_one_line_error()
    bad_json = tmp_path / "badjson"
    shutil.copytree(EXAMPLES / "acme-strings", bad_json)
    (bad_json / "pipper.json").write_text("{nope")
    assert "pipper.json" in run_cli("bundle", str(bad_json), "--no-isolation").assert_one_line_error()


def _rezip(src: Path, dst: Path, change) -> Path:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members = change(members)
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return dst


def test_read_bundle_refuses_bad_bundles(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0.0")
    good, _ = make_bundle(wheel, tmp_path)
    (tmp_path / "x").mkdir()

    def lie(members):  # type: ignore[no-untyped-def]
        meta = json.loads(members["package.meta"])
        meta["sha256"] = "0" * 64
        return {**members, "package.meta": json.dumps(meta)}

    with pytest.raises(IntegrityError):
        read_bundle(_rezip(good, tmp_path / "lie.pipper", lie), tmp_path / "x")
    with pytest.raises(FormatError, match="expected package.meta"):
        read_bundle(_rezip(good, tmp_path / "extra.pipper", lambda m: {**m, "../evil": b"x"}), tmp_path / "x")
    with pytest.raises(FormatError, match="expected package.meta"):
        read_bundle(_rezip(good, tmp_path / "missing.pipper", lambda m: {"package.whl": m["package.whl"]}), tmp_path / "x")
    truncated = tmp_path / "trunc.pipper"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FormatError):
        read_bundle(truncated, tmp_path / "x")
    notzip = tmp_path / "notzip.pipper"
    notzip.write_text("hello")
    with pytest.raises(FormatError, match="not a zip"):
        read_bundle(notzip, tmp_path / "x")

    def slip(members):  # type: ignore[no-untyped-def]
        meta = json.loads(members["package.meta"])
        meta["wheel_name"] = "../../demo-1.0.0-py3-none-any.whl"
        return {**members, "package.meta": json.dumps(meta)}

    with pytest.raises(FormatError, match="not a valid wheel file name"):
        read_bundle(_rezip(good, tmp_path / "slip.pipper", slip), tmp_path / "x")
    assert list((tmp_path / "x").iterdir()) == []


def test_legacy_bundle_is_read(tmp_path: Path) -> None:
    """A pipper 0.x bundle: package.whl + package.meta without hashes."""
    wheel = make_wheel(tmp_path / "w", "Old_Pkg", "1.2.3rc1", requires=["x"])
    legacy = tmp_path / "v1-2-3__pre_rc_1.pipper"
    with zipfile.ZipFile(legacy, "w") as z:
        z.writestr("package.whl", wheel.read_bytes())
        z.writestr("package.meta", json.dumps({
            "name": "Old_Pkg", "version": "1.2.3-rc.1", "wheel_name": wheel.name,
            "safe_version": "v1-2-3__pre_rc_1", "timestamp": "x", "dependencies": ["dep:1.*"],
        }))
    (tmp_path / "x").mkdir()
    meta, path = read_bundle(legacy, tmp_path / "x")
    assert meta.version == "1.2.3rc1" and meta.dependencies == ["dep:1.*"] and len(meta.sha256) == 64
    assert meta.requires_dist == ["x"]
    assert path.read_bytes() == wheel.read_bytes()


def test_safe_version_matches_pipper_0x() -> None:
    assert safe_version("1.0.0") == "v1-0-0"
    assert safe_version("2.0.0rc1") == "v2-0-0__pre_rc_1"
