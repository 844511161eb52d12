"""Lock and requirements files read into pins (poetry_pipper/locks.py).

The real formats come from the real tools, run here against the local "public" index: `poetry lock`,
`uv lock`, `uv export --format pylock.toml` and `uv export --format requirements.txt`. Hand-written files
cover the other shapes (Poetry 1.x, local projects, includes) and hostile input.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.version import Version

from poetry_pipper import locks
from poetry_pipper.errors import FormatError, PipperError
from poetry_pipper.locks import LockedPin, Protection, detect_format, read_lock

from .helpers import make_wheel
from .poetry_helpers import Project, poetry_env
from .servers import PublicIndex

UV = str(Path(sys.executable).parent / "uv")
H1, H2, H3 = "a" * 64, "b" * 64, "c" * 64


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def pins(lock: locks.LockFile) -> dict[tuple[str, str | None], frozenset[str]]:
    return {(pin.name, str(pin.version) if pin.version else None): pin.sha256 for pin in lock.pins}


def one_line_error(path: Path, **kwargs: str) -> str:
    with pytest.raises(PipperError) as info:
        read_lock(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.strip() == message
    return message


# -- real lock files, made by the real tools ------------------------------------------------------


def _sdist(directory: Path, name: str, version: str) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        member = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    path = directory / f"{name}-{version}.tar.gz"
    path.write_bytes(buffer.getvalue())
    return path


def _serve_with_hashes(index: PublicIndex, name: str, files: list[Path]) -> dict[str, str]:
    """A project page with `#sha256=` fragments, as PyPI serves them (PublicIndex.add writes none)."""
    page = index.root / name
    page.mkdir(parents=True, exist_ok=True)
    digests = {}
    for file in files:
        data = file.read_bytes()
        (page / file.name).write_bytes(data)
        digests[file.name] = hashlib.sha256(data).hexdigest()
    links = "".join(f'<a href="{n}#sha256={d}">{n}</a><br>\n' for n, d in sorted(digests.items()))
    (page / "index.html").write_text(f"<html><body>{links}</body></html>\n")
    return digests


@dataclass
class RealLocks:
    project: Path
    digests: dict[str, dict[str, str]]  # package -> file name -> sha256

    def hashes(self, package: str, version: str) -> frozenset[str]:
        return frozenset(d for n, d in self.digests[package].items() if f"-{version}" in n)


@pytest.fixture(scope="module")
def real_locks(public_index: PublicIndex, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealLocks]:
    """lkalpha 1.0.0/1.1.0, lkbeta 2.0.0 (needs lkalpha), lkgamma 3.0.0 (two wheels and an sdist), and a
    consumer project needing lkbeta and lkgamma, locked by Poetry and by uv against the local index."""
    base = tmp_path_factory.mktemp("real-locks")
    made = base / "dists"
    digests = {
        "lkalpha": _serve_with_hashes(public_index, "lkalpha", [make_wheel(made / "a1", "lkalpha", "1.0.0"),
                                                                make_wheel(made / "a2", "lkalpha", "1.1.0")]),
        "lkbeta": _serve_with_hashes(public_index, "lkbeta",
                                     [make_wheel(made / "b", "lkbeta", "2.0.0", requires=["lkalpha>=1"])]),
    }
    other = make_wheel(made / "g2", "lkgamma", "3.0.0", body="FLAVOUR = 'py311'\n")
    other = other.rename(other.with_name("lkgamma-3.0.0-py311-none-any.whl"))
    digests["lkgamma"] = _serve_with_hashes(public_index, "lkgamma", [
        make_wheel(made / "g1", "lkgamma", "3.0.0"), other, _sdist(made, "lkgamma", "3.0.0")])
    project = base / "app"
    url = public_index.url + "/"
    write(project / "pyproject.toml", f"""[project]
name = "consumer-app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["lkbeta", "lkgamma"]

[tool.poetry]
package-mode = false

[[tool.poetry.source]]
name = "local"
url = "{url}"
priority = "primary"

[[tool.uv.index]]
name = "local"
url = "{url}"
default = true
""")
    Project(project, poetry_env(base)).poetry("lock").assert_ok()
    uv_env = {**os.environ, "UV_CACHE_DIR": str(base / "uv-cache"), "UV_PYTHON": sys.executable,
              "UV_PYTHON_DOWNLOADS": "never", "XDG_CONFIG_HOME": str(base / "uv-config")}
    for args in (["lock"], ["export", "--format", "pylock.toml", "-o", "pylock.toml"],
                 ["export", "--format", "requirements.txt", "-o", "requirements.txt"]):
        proc = subprocess.run([UV, *args], cwd=project, env=uv_env, capture_output=True, text=True, check=False,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
    yield RealLocks(project, digests)


EXPECTED = {("lkalpha", "1.1.0"), ("lkbeta", "2.0.0"), ("lkgamma", "3.0.0")}
#: One xdist worker runs the real tools once for all the tests that read their files.
REAL = "real-locks"


@pytest.mark.poetry
@pytest.mark.xdist_group(REAL)
@pytest.mark.parametrize("filename", ["poetry.lock", "uv.lock", "pylock.toml", "requirements.txt"])
def test_real_lock_files_pin_every_locked_version_with_its_hashes(real_locks: RealLocks, filename: str) -> None:
    lock = read_lock(real_locks.project / filename)
    assert lock.format == ("requirements" if filename.endswith(".txt") else filename)
    found = pins(lock)
    assert found.keys() >= EXPECTED
    assert set(found) - EXPECTED <= {("consumer-app", "0.1.0")}  # uv.lock records the virtual root project
    for name, version in EXPECTED:
        assert found[(name, version)] == real_locks.hashes(name, version), (name, version)
    assert len(real_locks.hashes("lkgamma", "3.0.0")) == 3  # two wheels and an sdist
    assert lock.warnings == ()


@pytest.mark.poetry
@pytest.mark.xdist_group(REAL)
@pytest.mark.parametrize("filename", ["poetry.lock", "uv.lock", "pylock.toml", "requirements.txt"])
def test_real_lock_files_protect_by_version_and_by_hash(real_locks: RealLocks, filename: str) -> None:
    protection = Protection.from_files([real_locks.project / filename])
    gamma = real_locks.hashes("lkgamma", "3.0.0")
    origin = protection.protects("lkgamma", Version("3.0.0"))
    assert len(origin) == 1 and filename in origin[0] and "lkgamma" in origin[0]
    # by sha256 alone: a version recorded under another version string still matches its bytes
    assert protection.protects("LKGamma", Version("3.0.0.post9"), sorted(gamma)[:1]) == origin
    assert protection.protects("lkalpha", "1.1.0") != []
    assert protection.protects("lkalpha", "1.0.0", real_locks.hashes("lkalpha", "1.0.0")) == []
    assert protection.protects("lkbeta", "1.9.0") == []


@pytest.mark.poetry
@pytest.mark.xdist_group(REAL)
def test_real_poetry_lock_origin_names_the_file_and_the_package(real_locks: RealLocks) -> None:
    path = real_locks.project / "poetry.lock"
    assert Protection.from_files([path]).protects("lkbeta", "2.0.0") == [f"{path} (lkbeta 2.0.0)"]
    text = (real_locks.project / "requirements.txt").read_text()
    assert "\\\n" in text and "--hash=sha256:" in text  # uv's export really uses continuations and hashes


# -- format detection -----------------------------------------------------------------------------


POETRY2 = f"""# This file is automatically @generated by Poetry 2.1.3 and should not be changed by hand.

[[package]]
name = "Foo_Bar"
version = "1.2.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = [
    {{file = "foo_bar-1.2.0-py3-none-any.whl", hash = "sha256:{H1.upper()}"}},
    {{file = "foo_bar-1.2.0.tar.gz", hash = "sha256:{H2}"}},
]

[[package]]
name = "gitdep"
version = "0.1.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = []

[package.source]
type = "git"
url = "https://example.invalid/gitdep.git"
reference = "HEAD"
resolved_reference = "0123456789abcdef"

[metadata]
lock-version = "2.1"
python-versions = ">=3.11"
content-hash = "0000"
"""

POETRY1 = f"""[[package]]
name = "requests"
version = "2.25.1"
description = "Python HTTP for Humans."
category = "main"
optional = false
python-versions = ">=2.7"

[[package]]
name = "six"
version = "1.16.0"
description = ""
category = "main"
optional = false
python-versions = "*"

[metadata]
lock-version = "1.1"
python-versions = "^3.8"
content-hash = "abcd"

[metadata.files]
requests = [
    {{file = "requests-2.25.1-py2.py3-none-any.whl", hash = "sha256:{H1}"}},
    {{file = "requests-2.25.1.tar.gz", hash = "md5:0123"}},
]
Six = [
    {{file = "six-1.16.0.tar.gz", hash = "sha512:{'f' * 128}"}},
]
"""

UVLOCK = f"""version = 1
revision = 3
requires-python = ">=3.11"

[manifest]
members = ["app", "member"]

[[package]]
name = "app"
source = {{ editable = "." }}

[[package]]
name = "member"
source = {{ virtual = "libs/member" }}

[[package]]
name = "acme"
version = "1.0.0"
source = {{ registry = "https://pypi.example/simple" }}
sdist = {{ url = "https://pypi.example/acme-1.0.0.tar.gz", hash = "sha256:{H1}", size = 10 }}
wheels = [
    {{ url = "https://pypi.example/acme-1.0.0-py3-none-any.whl", hash = "sha256:{H2}", size = 10 }},
]

[[package]]
name = "nohash"
version = "2.0"
source = {{ registry = "https://pypi.example/simple" }}
wheels = [{{ url = "https://pypi.example/nohash-2.0-py3-none-any.whl" }}]

[[package]]
name = "urlonly"
source = {{ url = "https://host.example/urlonly-4.5-py3-none-any.whl" }}
wheels = [{{ url = "https://host.example/urlonly-4.5-py3-none-any.whl", hash = "sha256:{H3}" }}]

[[package]]
name = "mystery"
source = {{ git = "https://example.invalid/mystery.git" }}
"""

PYLOCK = f"""lock-version = "1.0"
created-by = "hand"
requires-python = ">=3.11"

[[packages]]
name = "attrs"
version = "25.1.0"
index = "https://pypi.example/simple/"
sdist = {{ name = "attrs-25.1.0.tar.gz", url = "https://pypi.example/attrs-25.1.0.tar.gz", hashes = {{ sha256 = "{H1}" }} }}
wheels = [
  {{ name = "attrs-25.1.0-py3-none-any.whl", url = "https://pypi.example/a.whl", hashes = {{ sha256 = "{H2}", blake2b = "00" }} }},
]

[[packages]]
name = "archived"
archive = {{ url = "https://host.example/archived-0.9.tar.gz", hashes = {{ sha256 = "{H3}" }} }}

[[packages]]
name = "src-tree"
directory = {{ path = "./src-tree", editable = true }}

[[packages]]
name = "from-git"
vcs = {{ type = "git", url = "https://example.invalid/x.git", commit-id = "abc" }}
"""


@pytest.mark.parametrize(("name", "kind"), [
    ("poetry.lock", "poetry.lock"), ("uv.lock", "uv.lock"), ("pylock.toml", "pylock.toml"),
    ("pylock.dev.toml", "pylock.toml"), ("requirements.txt", "requirements"), ("requirements-dev.txt", "requirements"),
    ("constraints.in", "requirements"), ("dev-requirements", "requirements"), ("Poetry.lock", "poetry.lock"),
])
def test_format_comes_from_the_file_name(name: str, kind: str) -> None:
    assert detect_format(f"some/dir/{name}", "") == kind


@pytest.mark.parametrize(("text", "kind"), [
    (POETRY2, "poetry.lock"), (UVLOCK, "uv.lock"), (PYLOCK, "pylock.toml"),
    ("# pinned\nfoo==1.0 \\\n  --hash=sha256:" + H1 + "\n-r other\n", "requirements"),
])
def test_format_comes_from_the_content_when_the_name_says_nothing(tmp_path: Path, text: str, kind: str) -> None:
    assert detect_format(str(tmp_path / "locked-for-prod"), text) == kind
    write(tmp_path / "other", "")
    assert read_lock(write(tmp_path / "locked-for-prod", text)).format == kind


@pytest.mark.parametrize("text", ["", "[tool]\nx = 1\n", "hello world\n", "foo==1.0\n<html>\n", "\x00\x01"])
def test_unknown_format_names_the_known_ones(tmp_path: Path, text: str) -> None:
    message = one_line_error(write(tmp_path / "mystery.dat", text))
    assert "mystery.dat" in message
    for known in ("poetry.lock", "uv.lock", "pylock.toml", "requirements"):
        assert known in message


def test_format_can_be_forced(tmp_path: Path) -> None:
    path = write(tmp_path / "mystery.dat", "foo==1.0\n")
    assert pins(read_lock(path, kind="requirements")) == {("foo", "1.0"): frozenset()}
    assert "unknown lock format" in one_line_error(path, kind="pipfile")


# -- poetry.lock, uv.lock, pylock.toml: hand-written shapes -----------------------------------------


def test_poetry_2_lock(tmp_path: Path) -> None:
    lock = read_lock(write(tmp_path / "poetry.lock", POETRY2))
    assert pins(lock) == {("foo-bar", "1.2.0"): frozenset({H1, H2}), ("gitdep", "0.1.0"): frozenset()}
    assert lock.pins[0].origin == f"{tmp_path / 'poetry.lock'} (foo-bar 1.2.0)"


def test_poetry_1_lock_with_metadata_files_and_other_hash_algorithms(tmp_path: Path) -> None:
    lock = read_lock(write(tmp_path / "poetry.lock", POETRY1))
    assert pins(lock) == {("requests", "2.25.1"): frozenset({H1}), ("six", "1.16.0"): frozenset()}


def test_poetry_lock_without_packages_pins_nothing(tmp_path: Path) -> None:
    text = '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.11"\ncontent-hash = "0"\n'
    assert read_lock(write(tmp_path / "poetry.lock", text)).pins == ()


def test_uv_lock_local_projects_skipped_and_versionless_entries_kept_by_file_name_or_hash(tmp_path: Path) -> None:
    lock = read_lock(write(tmp_path / "uv.lock", UVLOCK))
    assert pins(lock) == {("acme", "1.0.0"): frozenset({H1, H2}), ("nohash", "2.0"): frozenset(),
                          ("urlonly", "4.5"): frozenset({H3})}
    assert len(lock.warnings) == 1 and "mystery" in lock.warnings[0] and "protects nothing" in lock.warnings[0]


def test_pylock_packages(tmp_path: Path) -> None:
    lock = read_lock(write(tmp_path / "pylock.prod.toml", PYLOCK))
    assert lock.format == "pylock.toml"
    assert pins(lock) == {("attrs", "25.1.0"): frozenset({H1, H2}), ("archived", "0.9"): frozenset({H3})}
    assert lock.warnings == ()


def test_pylock_versionless_package_without_hash_is_a_warning(tmp_path: Path) -> None:
    text = 'lock-version = "1.0"\n[[packages]]\nname = "ghost"\nindex = "https://pypi.example/simple"\n'
    lock = read_lock(write(tmp_path / "pylock.toml", text))
    assert lock.pins == () and "ghost" in lock.warnings[0]


# -- requirements files ---------------------------------------------------------------------------


REQUIREMENTS = f"""\ufeff# a comment line
--index-url https://pypi.example/simple
--extra-index-url=https://extra.example/simple
-i https://pypi.example/simple
-f ./wheels
--find-links ./wheels
--trusted-host pypi.example
--no-binary :all:
--only-binary=:none:
--pre
--require-hashes

Foo_Bar==1.2.0 \\
    --hash=sha256:{H1} \\
    --hash sha256:{H2}    # an inline comment
exact===2.0.0
marked==3.0 ; python_version < "3.12" and sys_platform != "win-32"
extras[cli,web]==4.0
ranged>=1,<2
bare
star==1.*
both==5.0,<6
local==1.0+build.7
direct @ https://files.example/direct-6.0-py3-none-any.whl#sha256={H3}
gitdirect @ git+https://example.invalid/repo.git@main
./dist/pathwheel-7.0-py3-none-any.whl --hash=sha256:{H1}
-e ./src/editable
--editable git+https://example.invalid/e.git#egg=e
./src/project
sha512only==8.0 --hash=sha512:{'e' * 128}
# continued \\
after==9.0
"""


def test_requirements_file(tmp_path: Path) -> None:
    path = write(tmp_path / "requirements.txt", REQUIREMENTS.replace("\n", "\r\n"))
    lock = read_lock(path)
    assert pins(lock) == {
        ("foo-bar", "1.2.0"): frozenset({H1, H2}), ("exact", "2.0.0"): frozenset(), ("marked", "3.0"): frozenset(),
        ("extras", "4.0"): frozenset(), ("both", "5.0"): frozenset(), ("local", "1.0+build.7"): frozenset(),
        ("direct", "6.0"): frozenset({H3}), ("pathwheel", "7.0"): frozenset({H1}),
        ("sha512only", "8.0"): frozenset(), ("after", "9.0"): frozenset(),
    }
    foo = next(pin for pin in lock.pins if pin.name == "foo-bar")
    assert foo.origin == f"{path}:13 (foo-bar==1.2.0)"  # the first line of the continued requirement
    warned = "\n".join(lock.warnings)
    for unpinned in ("ranged", "'bare'", "star", "gitdirect", "./src/project"):
        assert unpinned in warned
    assert len(lock.warnings) == 5
    assert all(w.startswith(f"{path}:") for w in lock.warnings)


def test_requirement_with_only_a_hash_protects_by_hash(tmp_path: Path) -> None:
    lock = read_lock(write(tmp_path / "requirements.txt", f"foo --hash=sha256:{H1}\n"))
    assert lock.pins == (LockedPin("foo", None, frozenset({H1}), f"{tmp_path / 'requirements.txt'}:1 (foo, by sha256)"),)


def test_arbitrary_equality_that_is_no_pep440_version_is_a_warning(tmp_path: Path) -> None:
    lock = read_lock(write(tmp_path / "requirements.txt", "foo===not-a-version\n"))
    assert lock.pins == () and "not a PEP 440 version" in lock.warnings[0]


def test_unknown_options_are_warnings(tmp_path: Path) -> None:
    lock = read_lock(write(tmp_path / "requirements.txt", "--frobnicate yes\nfoo==1\n"))
    assert pins(lock) == {("foo", "1"): frozenset()}
    assert "unknown option '--frobnicate'" in lock.warnings[0]


def test_includes_resolve_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path / "reqs" / "base.txt", "-c ../constraints/pins.txt\nbase==1.0\n")
    write(tmp_path / "constraints" / "pins.txt", "--requirement=../reqs/more/extra.txt\nconstrained==2.0\n")
    write(tmp_path / "reqs" / "more" / "extra.txt", "-r../base.txt\nextra==3.0\n")  # a cycle back to base
    write(tmp_path / "reqs" / "attached.txt", "attached==4.0\n")
    top = write(tmp_path / "reqs" / "requirements.txt", "-r base.txt\n-rattached.txt\n--requirement base.txt\n"
                                                          "top==5.0\n")
    lock = read_lock(top)
    assert sorted(pins(lock)) == [("attached", "4.0"), ("base", "1.0"), ("constrained", "2.0"), ("extra", "3.0"),
                                  ("top", "5.0")]
    origins = {pin.name: pin.origin for pin in lock.pins}
    assert origins["extra"].startswith(str(tmp_path / "reqs" / "base.txt").rsplit("base.txt", 1)[0])
    assert ":2 (extra==3.0)" in origins["extra"]


def test_include_of_a_missing_file_names_the_line(tmp_path: Path) -> None:
    message = one_line_error(write(tmp_path / "requirements.txt", "foo==1\n-r nope.txt\n"))
    assert message.startswith(f"{tmp_path / 'requirements.txt'}:2: cannot read {tmp_path / 'nope.txt'}: no such file")


@pytest.mark.parametrize(("text", "expected"), [
    ("-r https://example.invalid/reqs.txt\n", "(a URL); download it"),
    ("-r\n", "names no file"),
    ("-r 'unclosed\n", "fix the quoting"),
])
def test_bad_includes(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in one_line_error(write(tmp_path / "requirements.txt", text))


def test_error_in_an_included_file_names_that_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "base.txt", "ok==1\nnot a requirement!\n")
    message = one_line_error(write(tmp_path / "requirements.txt", "-r sub/base.txt\n"))
    assert message.startswith(f"{tmp_path / 'sub' / 'base.txt'}:2: 'not a requirement!' is not a requirement")


# -- hostile and malformed input --------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "text", "expected"), [
    ("poetry.lock", "[[package]\nname = 'x'\n", "not valid TOML"),
    ("poetry.lock", "package = 'x'\n[metadata]\ncontent-hash = '0'\n", "'package' is not a list of tables"),
    ("poetry.lock", "package = ['x']\n[metadata]\n", "'package' is not a list of tables"),
    ("poetry.lock", "[[package]]\nname = 'x'\nversion = '1'\n", "no [metadata] table"),
    ("poetry.lock", "[metadata]\nlock-version = '3.0'\n", "lock-version '3.0' is not one pipper reads"),
    ("poetry.lock", "[[package]]\nversion = '1'\n[metadata]\n", "package 1: the name is missing"),
    ("poetry.lock", "[[package]]\nname = 7\nversion = '1'\n[metadata]\n", "package 1: the name is 'int'"),
    ("poetry.lock", "[[package]]\nname = 'foo bar'\nversion = '1'\n[metadata]\n", "'foo bar' is not a PEP 508"),
    ("poetry.lock", "[[package]]\nname = '-x'\nversion = '1'\n[metadata]\n", "'-x' is not a PEP 508"),
    ("poetry.lock", "[[package]]\nname = 'x'\n[metadata]\n", "package 1 (x): the version is missing"),
    ("poetry.lock", "[[package]]\nname = 'x'\nversion = 'one'\n[metadata]\n", "'one' is not a PEP 440 version"),
    ("poetry.lock", "[[package]]\nname = 'x'\nversion = 1\n[metadata]\n", "the version is 'int'"),
    ("poetry.lock", "[[package]]\nname = 'x'\nversion = '1'\nfiles = 'f'\n[metadata]\n", "'files' is 'f'"),
    ("poetry.lock", "[[package]]\nname = 'x'\nversion = '1'\nfiles = [1]\n[metadata]\n", "a file entry is 'int'"),
    ("poetry.lock", "[[package]]\nname = 'x'\nversion = '1'\nfiles = [{hash = 'sha256:abc'}]\n[metadata]\n",
     "sha256 'abc' is not 64 hex digits"),
    ("poetry.lock", f"[[package]]\nname = 'x'\nversion = '1'\nfiles = [{{hash = 'sha256:{'g' * 64}'}}]\n[metadata]\n",
     "is not 64 hex digits"),
    ("poetry.lock", "[[package]]\nname = 'x'\nversion = '1'\nfiles = [{hash = 'deadbeef'}]\n[metadata]\n",
     "is not 'ALGORITHM:HEX'"),
    ("uv.lock", "[[package]]\nname = 'x'\nversion = '1'\n", "no version field"),
    ("uv.lock", "version = 2\n", "version '2' is not one pipper reads"),
    ("uv.lock", "version = 1\n[[package]]\nname = 'x'\nversion = '1'\nsource = 'pypi'\n", "'source' is 'pypi'"),
    ("uv.lock", "version = 1\n[[package]]\nname = 'x'\nversion = '1'\nwheels = {}\n", "'wheels' is 'dict'"),
    ("uv.lock", "version = 1\n[[package]]\nname = 'x'\nversion = '1'\nwheels = ['w']\n", "a wheel entry is 'w'"),
    ("uv.lock", f"version = 1\n[[package]]\nname = 'x'\nversion = '1'\nsdist = {{hash = 'sha256:{H1}0'}}\n",
     "is not 64 hex digits"),
    ("pylock.toml", "[[packages]]\nname = 'x'\n", "no lock-version"),
    ("pylock.toml", "lock-version = '2.0'\n", "lock-version '2.0' is not one pipper reads"),
    ("pylock.toml", "lock-version = '1.0'\npackages = 3\n", "'packages' is not a list of tables"),
    ("pylock.toml", "lock-version = '1.0'\n[[packages]]\nname = 'x'\nversion = '1'\nwheels = [{hashes = 3}]\n",
     "'hashes' is 'int'"),
    ("pylock.toml", "lock-version = '1.0'\n[[packages]]\nname = 'x'\nversion = '1'\nwheels = [{hashes = {sha256 = 3}}]\n",
     "sha256 'int' is not 64 hex digits"),
    ("requirements.txt", "foo==1.0\nfoo==\n", "requirements.txt:2: 'foo==' is not a requirement"),
    ("requirements.txt", "foo=1.0\n", "requirements.txt:1: 'foo=1.0' is not a requirement"),
    ("requirements.txt", f"foo==1.0 --hash=sha256:{H1[:-1]}\n", "requirements.txt:1: sha256"),
    ("requirements.txt", "foo==1.0 --hash=abc\n", "is not 'ALGORITHM:HEX'"),
    ("requirements.txt", "foo==1.0 --hash\n", "hash '' is not 'ALGORITHM:HEX'"),
    ("requirements.txt", "foo @ https://x.example/foo-1.0.tar.gz#sha256=12\n", "sha256 '12' is not 64 hex"),
    ("requirements.txt", "x" * 5000 + "==1\n", "longer than 4096 characters"),
])
def test_malformed_files_are_one_line_errors_naming_file_and_entry(tmp_path: Path, filename: str, text: str,
                                                                  expected: str) -> None:
    path = write(tmp_path / filename, text)
    message = one_line_error(path)
    assert message.startswith(str(path)), message
    assert expected in message, message
    assert "fix" in message or "regenerate" in message or "upgrade" in message or "pass" in message


def test_control_characters_in_entries_are_escaped_in_messages(tmp_path: Path) -> None:
    text = '[[package]]\nname = "evil\\u001b[31m\\u202e\\nname"\nversion = "1"\n[metadata]\n'
    message = one_line_error(write(tmp_path / "poetry.lock", text))
    assert "\x1b" not in message and "\u202e" not in message and "\\x1b" in message


def test_control_characters_in_include_paths_are_escaped(tmp_path: Path) -> None:
    write(tmp_path / "evil\x1b[2J.txt", "evil==1.0\nrange>=1\n")
    lock = read_lock(write(tmp_path / "requirements.txt", '-r "evil\x1b[2J.txt"\n'))
    assert pins(lock) == {("evil", "1.0"): frozenset()}
    assert "\x1b" not in lock.pins[0].origin + lock.warnings[0] and "\\x1b" in lock.pins[0].origin


def test_deeply_nested_toml_is_an_error_not_a_crash(tmp_path: Path) -> None:
    text = "version = 1\nx = " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert "not valid TOML" in one_line_error(write(tmp_path / "uv.lock", text))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"foo==1.0\n\xff\xfe\n")
    assert "not UTF-8 text" in one_line_error(path)


def test_missing_file_and_directory_and_fifo(tmp_path: Path) -> None:
    assert "no such file" in one_line_error(tmp_path / "poetry.lock")
    (tmp_path / "dir.lock").mkdir()
    assert "not a regular file" in one_line_error(tmp_path / "dir.lock")
    os.mkfifo(tmp_path / "requirements.txt")  # opening it would block: refused before open
    assert "not a regular file" in one_line_error(tmp_path / "requirements.txt")


def test_size_is_bounded_with_the_includes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "MAX_BYTES", 1000)
    write(tmp_path / "big.txt", "# padding\n" * 60)
    assert read_lock(tmp_path / "big.txt").pins == ()
    top = write(tmp_path / "requirements.txt", "-r big.txt\n" + "# padding\n" * 60)
    assert "larger than" in one_line_error(top)


def test_entries_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "MAX_ENTRIES", 100)
    assert "more than 100 entries" in one_line_error(write(tmp_path / "requirements.txt", "foo==1\n" * 101))
    text = "".join(f"[[package]]\nname = 'p{i}'\nversion = '1'\n" for i in range(101)) + "[metadata]\n"
    assert "more than 100 entries" in one_line_error(write(tmp_path / "poetry.lock", text))


def test_included_files_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "MAX_FILES", 5)
    for i in range(10):
        write(tmp_path / f"r{i}.txt", f"-r r{i + 1}.txt\npkg{i}==1\n")
    write(tmp_path / "r10.txt", "last==1\n")
    assert "more than 5 files" in one_line_error(tmp_path / "r0.txt")


@pytest.mark.parametrize("line", [
    " " * 200_000 + "x",  # (^|\s+)#.*$ as a regex would be quadratic here
    "foo==1.0" + " #" * 100_000,
    "foo==1.0" + "\\\n" * 50_000 + " --hash=sha256:" + H1,
    "#" * 200_000,
])
def test_pathological_lines_are_read(tmp_path: Path, line: str) -> None:
    read_lock(write(tmp_path / "requirements.txt", line + "\n"))  # finishes (linear), pins or warns


# -- protection -------------------------------------------------------------------------------------


def test_protection_by_normalized_name_and_version() -> None:
    protection = Protection([LockedPin("foo-bar", Version("1.0"), frozenset(), "a.lock (foo-bar 1.0)"),
                             LockedPin("foo-bar", Version("1.0"), frozenset(), "b.lock (foo-bar 1.0)"),
                             LockedPin("foo-bar", Version("1.0"), frozenset(), "a.lock (foo-bar 1.0)")])
    assert protection.protects("Foo_Bar", Version("1.0.0")) == ["a.lock (foo-bar 1.0)", "b.lock (foo-bar 1.0)"]
    assert protection.protects("foo.bar", "1.0+build.2") == ["a.lock (foo-bar 1.0)", "b.lock (foo-bar 1.0)"]
    assert protection.protects("foo-bar", "1.0.post1") == []
    assert protection.protects("foo-bar", "1.0rc1") == []
    assert protection.protects("foo-baz", "1.0") == []


def test_protection_by_local_version_is_exact() -> None:
    protection = Protection([LockedPin("foo", Version("1.0+a"), frozenset(), "x")])
    assert protection.protects("foo", "1.0+a") == ["x"]
    assert protection.protects("foo", "1.0") == []
    assert protection.protects("foo", "1.0+b") == []


def test_protection_by_hash_only_for_the_same_name() -> None:
    protection = Protection([LockedPin("foo", None, frozenset({H1}), "req.txt:3 (foo, by sha256)"),
                             LockedPin("bar", Version("2.0"), frozenset({H2}), "uv.lock (bar 2.0)")])
    assert protection.protects("foo", "9.9", [H3, H1.upper()]) == ["req.txt:3 (foo, by sha256)"]
    assert protection.protects("bar", "1.0", [H2]) == ["uv.lock (bar 2.0)"]
    assert protection.protects("foo", "9.9", [H2]) == []
    assert protection.protects("baz", "2.0", [H1, H2]) == []
    assert len(protection) == 2


def test_protection_from_files_collects_pins_and_warnings(tmp_path: Path) -> None:
    a = write(tmp_path / "requirements.txt", "foo==1.0\nbar>=2\n")
    b = write(tmp_path / "poetry.lock", POETRY2)
    protection = Protection.from_files([a, b])
    assert len(protection) == 3 and len(protection.warnings) == 1 and "bar>=2" in protection.warnings[0]
    assert protection.protects("foo", "1.0") == [f"{a}:1 (foo==1.0)"]
    with pytest.raises(FormatError):
        Protection.from_files([a, tmp_path / "missing.lock"])
