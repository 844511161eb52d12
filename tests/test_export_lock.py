"""poetry_pipper.export without Poetry: poetry.lock read into what is exported, and its errors."""

from __future__ import annotations

import pytest

from poetry_pipper.errors import FormatError, NotFound, PipperError
from poetry_pipper.export import LockedPackage, export_requirements, read_poetry_lock
from poetry_pipper.targets import Target

SHA = "a" * 64

LOCK = f"""
[[package]]
name = "Both_Groups"
version = "1.0"
groups = ["main", "dev"]
markers = {{main = "sys_platform == 'linux'", dev = "python_version >= '3.12'"}}
files = [{{file = "both_groups-1.0-py3-none-any.whl", hash = "sha256:{SHA}"}}]

[[package]]
name = "dev-only"
version = "2.0"
groups = ["dev"]
files = [{{file = "dev_only-2.0-py3-none-any.whl", hash = "sha256:{SHA}"}}]

[[package]]
name = "private-lib"
version = "3.0"
groups = ["main"]
markers = "python_version >= '3.10'"
files = [{{file = "private_lib-3.0-py3-none-any.whl", hash = "sha256:{SHA}"}}]

[package.source]
type = "legacy"
url = "s3://bucket/prefix"
reference = "private"
"""


def test_groups_and_markers() -> None:
    main = {p.name: p for p in read_poetry_lock(LOCK, "poetry.lock", ["main"])}
    assert set(main) == {"Both_Groups", "private-lib"}
    assert main["Both_Groups"].marker == 'sys_platform == "linux"'
    assert main["private-lib"].source_url == "s3://bucket/prefix"
    both = {p.name: p for p in read_poetry_lock(LOCK, "poetry.lock", ["main", "dev"])}
    assert both["Both_Groups"].marker == 'python_version >= "3.12" or sys_platform == "linux"'
    assert both["dev-only"].marker == ""


@pytest.mark.parametrize(("text", "expected"), [
    ("[[package]\n", "is not valid TOML"),
    ('[[package]]\nname = "x"\nversion = "1"\n', "before 2.0; run `poetry lock`"),
    ('[[package]]\nname = "x y"\nversion = "1"\ngroups = ["main"]\n', "has no valid name"),
    ('[[package]]\nname = "x"\nversion = "one"\ngroups = ["main"]\n', "has no valid version"),
    ('[[package]]\nname = "x"\nversion = "1"\ngroups = ["main"]\nmarkers = "os ==="\n', "is not an environment marker"),
])
def test_bad_locks_are_one_line_errors(text: str, expected: str) -> None:
    with pytest.raises(FormatError, match=expected.replace("(", r"\(").replace(")", r"\)")) as info:
        read_poetry_lock(text, "poetry.lock", ["main"])
    assert "\n" not in str(info.value)


def test_packages_that_cannot_be_exported() -> None:
    url_dependency = LockedPackage("x", "1.0", {}, "", "")
    with pytest.raises(PipperError, match="has no file hashes in the lock"):
        export_requirements([url_dependency], lambda _url: None, 60, Target.current(), header=[])
    foreign = LockedPackage("y", "1.0", {"y-1.0-py3-none-any.whl": SHA}, "", "s3://other/prefix")
    with pytest.raises(PipperError, match="which is not a source of this project"):
        export_requirements([foreign], lambda _url: None, 60, Target.current(), header=[])


def test_a_locked_file_that_is_gone(local_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .helpers import make_wheel

    local_repo.cli("publish", str(make_wheel(tmp_path, "gone-lib", "1.0")), "-b", local_repo.url).assert_ok()
    locked = LockedPackage("gone-lib", "1.0", {"gone_lib-1.0-py3-none-any.whl": SHA}, "", "s3://b/p")
    with pytest.raises(NotFound, match="with the locked files"):
        export_requirements([locked], lambda _url: local_repo.open(), 60, Target.current(), header=[])
