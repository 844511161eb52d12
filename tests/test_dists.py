"""Reading sdists without extracting them, and checking a wheel's WHEEL file against its name."""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from poetry_pipper import dists
from poetry_pipper.bundle import inspect_wheel
from poetry_pipper.dists import check_wheel_tags, inspect_sdist
from poetry_pipper.errors import FormatError, PipperError

from .helpers import make_sdist, make_wheel, run_cli, tar_gz

PKG_INFO = b"Metadata-Version: 2.2\nName: foo\nVersion: 1.0\nSummary: s\n"
DIR = tarfile.DIRTYPE


def sdist(tmp_path: Path, members: list[tuple[str, bytes | None]], *, name: str = "foo-1.0.tar.gz",
          links: dict[str, tuple[bytes, str]] | None = None) -> Path:
    path = tmp_path / name
    path.write_bytes(tar_gz(members, links=links))
    return path


def refused(path: Path) -> str:
    with pytest.raises(FormatError) as exc:
        inspect_sdist(path)
    text = str(exc.value)
    assert "\n" not in text and text.isprintable(), text
    return text


GOOD = [("foo-1.0", None), ("foo-1.0/PKG-INFO", PKG_INFO), ("foo-1.0/foo/__init__.py", b"")]


# -- sdists -------------------------------------------------------------------------------------


def test_inspect_sdist_reads_pkg_info(tmp_path: Path) -> None:
    path = make_sdist(tmp_path, "Foo.Bar", "1.2.0rc1", requires=["x>=1", "y; extra == 'test'"], requires_python=">=3.9")
    info = inspect_sdist(path)
    assert path.name == "foo_bar-1.2.0rc1.tar.gz"
    assert (info.name, info.version, info.requires_python) == ("Foo.Bar", "1.2.0rc1", ">=3.9")
    assert info.requires_dist == ["x>=1", 'y; extra == "test"'] and info.summary == "test sdist Foo.Bar"
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and info.size == path.stat().st_size
    with tarfile.open(path) as tar:
        handle = tar.extractfile("foo_bar-1.2.0rc1/PKG-INFO")
        assert handle is not None and info.metadata == handle.read()
    assert info.metadata_trusted
    assert make_sdist(tmp_path / "again", "Foo.Bar", "1.2.0rc1", requires=["x>=1", "y; extra == 'test'"],
                      requires_python=">=3.9").read_bytes() == path.read_bytes()  # the helper is reproducible


@pytest.mark.parametrize(("metadata_version", "dynamic", "trusted"), [
    ("2.2", (), True),
    ("2.4", ("Summary", "Keywords"), True),
    ("2.1", (), False),
    ("1.2", (), False),
    ("2.2", ("Requires-Dist",), False),
    ("2.3", ("requires-python",), False),
])
def test_metadata_trusted_follows_pep_643(tmp_path: Path, metadata_version: str, dynamic: tuple[str, ...], trusted: bool) -> None:
    path = make_sdist(tmp_path, "foo", "1.0", requires=["x"], metadata_version=metadata_version, dynamic=dynamic)
    assert inspect_sdist(path).metadata_trusted is trusted


def test_helper_sdists_build_with_pip(tmp_path: Path) -> None:
    """make_sdist writes a real sdist: pip builds a wheel from it (setuptools from this venv, no network)."""
    path = make_sdist(tmp_path, "Foo.Bar", "1.0", requires=["x>=1"], requires_python=">=3.8")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(tmp_path / "w"), str(path)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "w").glob("*.whl")
    info = inspect_wheel(wheel)
    assert (info.name, info.version, info.requires_dist, info.requires_python) == ("Foo.Bar", "1.0", ["x>=1"], ">=3.8")


def test_links_inside_the_sdist_are_fine(tmp_path: Path) -> None:
    members = [*GOOD, ("foo-1.0/docs", None), ("foo-1.0/docs/README", b"x"), ("foo-1.0/README", None),
               ("foo-1.0/docs/up", None), ("foo-1.0/hard", None)]
    links = {"foo-1.0/README": (tarfile.SYMTYPE, "docs/README"), "foo-1.0/docs/up": (tarfile.SYMTYPE, "../foo"),
             "foo-1.0/hard": (tarfile.LNKTYPE, "foo-1.0/docs/README")}
    assert inspect_sdist(sdist(tmp_path, members, links=links)).name == "foo"


@pytest.mark.parametrize(("members", "links", "expected"), [
    ([*GOOD, ("foo-1.0/../evil", b"x")], None, "member 'foo-1.0/../evil' has a '..' component"),
    ([*GOOD, ("../evil", b"x")], None, "has a '..' component"),
    ([*GOOD, ("/etc/evil", b"x")], None, "member '/etc/evil' is an absolute path"),
    ([*GOOD, ("C:/evil", b"x")], None, "is an absolute path"),
    ([*GOOD, ("foo-1.0\\..\\evil", b"x")], None, "is not a plain relative path"),
    ([*GOOD, ("foo-1.0/./x", b"x")], None, "is not a plain relative path"),
    ([*GOOD, ("foo-1.0/link", None)], {"foo-1.0/link": (tarfile.SYMTYPE, "/etc/passwd")}, "is a symlink pointing outside 'foo-1.0/'"),
    ([*GOOD, ("foo-1.0/a/link", None)], {"foo-1.0/a/link": (tarfile.SYMTYPE, "../../other")}, "is a symlink pointing outside"),
    ([*GOOD, ("foo-1.0/link", None)], {"foo-1.0/link": (tarfile.SYMTYPE, "../foo-1.0/x")}, "is a symlink pointing outside 'foo-1.0/'"),
    ([*GOOD, ("foo-1.0/d", None), ("foo-1.0/e", None)], {"foo-1.0/d": (tarfile.SYMTYPE, "."), "foo-1.0/e": (tarfile.SYMTYPE, "d/d/d/..")},
     "member 'foo-1.0/e' is a symlink through another symlink"),
    ([*GOOD, ("foo-1.0/e", None), ("foo-1.0/d", None)], {"foo-1.0/d": (tarfile.SYMTYPE, "."), "foo-1.0/e": (tarfile.SYMTYPE, "d/d/d/..")},
     "member 'foo-1.0/e' is a symlink through another symlink"),  # the same, whatever the order
    ([*GOOD, ("foo-1.0/sub", None), ("foo-1.0/d", None), ("foo-1.0/d/x", b"")], {"foo-1.0/d": (tarfile.SYMTYPE, "sub")},
     "member 'foo-1.0/d/x' lies below a symlink"),
    ([*GOOD, ("foo-1.0/hard", None)], {"foo-1.0/hard": (tarfile.LNKTYPE, "etc/passwd")}, "is a hard link to 'etc/passwd'"),
    ([*GOOD, ("foo-1.0/hard", None)], {"foo-1.0/hard": (tarfile.LNKTYPE, "foo-1.0/later")}, "not an earlier file"),
    ([*GOOD, ("foo-1.0/tty", None)], {"foo-1.0/tty": (tarfile.CHRTYPE, "")}, "is a device file or FIFO"),
    ([*GOOD, ("foo-1.0/disk", None)], {"foo-1.0/disk": (tarfile.BLKTYPE, "")}, "is a device file or FIFO"),
    ([*GOOD, ("foo-1.0/pipe", None)], {"foo-1.0/pipe": (tarfile.FIFOTYPE, "")}, "is a device file or FIFO"),
    ([*GOOD, ("foo-1.0/foo/__init__.py", b"again")], None, "member 'foo-1.0/foo/__init__.py' appears twice"),
    ([*GOOD, ("foo-1.0/PKG-INFO", PKG_INFO)], None, "appears twice"),
    ([*GOOD, ("other-1.0/x", b"x")], None, "member 'other-1.0/x' is outside 'foo-1.0/'"),
    ([*GOOD, ("setup.py", b"x")], None, "is outside 'foo-1.0/': an sdist has exactly one top-level directory"),
    ([("foo-1.0", b"a file"), *GOOD[1:]], None, "member 'foo-1.0' is outside"),
    ([("foo-1.0", None), ("foo-1.0/setup.py", b"")], None, "no 'foo-1.0/PKG-INFO'"),
    ([], None, "no 'foo-1.0/PKG-INFO'"),
    ([("foo-1.0/PKG-INFO", None), ("foo-1.0/x", b"")], None, "PKG-INFO is not a regular file"),
    ([("foo-1.0/PKG-INFO", None)], {"foo-1.0/PKG-INFO": (tarfile.SYMTYPE, "x")}, "PKG-INFO is not a regular file"),
    ([("foo-1.0/PKG-INFO", b"Metadata-Version: 2.2\nName: bar\nVersion: 1.0\n")], None, "PKG-INFO says bar 1.0, the file name disagrees"),
    ([("foo-1.0/PKG-INFO", b"Metadata-Version: 2.2\nName: foo\nVersion: 1.1\n")], None, "PKG-INFO says foo 1.1"),
    ([("foo-1.0/PKG-INFO", b"Metadata-Version: 2.2\nName: foo\n")], None, "unreadable PKG-INFO"),
    ([("foo-1.0/PKG-INFO", b"Name: foo\nVersion: 1.0\n")], None, "unreadable PKG-INFO"),
    ([("foo-1.0/PKG-INFO", PKG_INFO + b"Requires-Dist: x >>> 1\n")], None, "unreadable PKG-INFO"),
    ([("foo-1.0/PKG-INFO", b"\xff\xfe" * 10)], None, "unreadable PKG-INFO"),
])
def test_bad_sdists_are_refused(tmp_path: Path, members: list[tuple[str, bytes | None]],
                                links: dict[str, tuple[bytes, str]] | None, expected: str) -> None:
    text = refused(sdist(tmp_path, members, links=links))
    assert text.startswith("foo-1.0.tar.gz: ") and expected in text, text


@pytest.mark.parametrize(("name", "expected"), [
    ("foo.tar.gz", "foo.tar.gz: not a valid sdist file name"),
    ("foo-1.0x!.tar.gz", "not a valid sdist file name"),
    ("foo-1.0.zip", "foo-1.0.zip: not an sdist: an sdist is a NAME-VERSION.tar.gz file (PEP 625)"),
    ("foo-1.0.tar.bz2", "not an sdist"),
    ("foo-1.0-py3-none-any.whl", "not an sdist"),
])
def test_bad_sdist_names_are_refused(tmp_path: Path, name: str, expected: str) -> None:
    assert expected in refused(sdist(tmp_path, GOOD, name=name))


def test_top_level_directory_must_be_the_file_stem(tmp_path: Path) -> None:
    members = [("Foo-1.0", None), ("Foo-1.0/PKG-INFO", PKG_INFO)]
    assert "member 'Foo-1.0' is outside 'foo-1.0/'" in refused(sdist(tmp_path, members))
    # a file named in the un-normalized form is fine when its directory matches it (older sdists)
    assert inspect_sdist(sdist(tmp_path, [("Foo-1.0/PKG-INFO", PKG_INFO)], name="Foo-1.0.tar.gz")).name == "foo"


def test_corrupt_and_truncated_archives_are_refused(tmp_path: Path) -> None:
    good = tar_gz(GOOD)
    raw_tar = gzip.decompress(good)
    cases = {
        "half": good[: len(good) // 2],
        "no-trailer": good[:-4],  # the gzip length field is gone
        "bad-crc": good[:-8] + bytes(b ^ 0xFF for b in good[-8:-4]) + good[-4:],
        "garbage": b"this is not a gzip file at all",
        "empty": b"",
        "plain-tar": raw_tar,
        "gzip-of-text": gzip.compress(b"hello world" * 100),
        "trailing-garbage": good + b"garbage after the gzip stream",
        "truncated-tar-header": gzip.compress(raw_tar[:700]),
        "truncated-tar-data": gzip.compress(raw_tar[:1200]),
        "tar-without-end": gzip.compress(raw_tar[:2048]),
        "damaged-last-header": gzip.compress(raw_tar[:1536] + b"x" * 512),
    }
    for label, data in cases.items():
        path = tmp_path / label / "foo-1.0.tar.gz"
        path.parent.mkdir()
        path.write_bytes(data)
        assert refused(path).startswith("foo-1.0.tar.gz: "), label
    assert "no end-of-archive block" in refused(tmp_path / "tar-without-end" / "foo-1.0.tar.gz")


def test_members_hidden_after_the_end_of_the_archive_are_refused(tmp_path: Path) -> None:
    """A reader that stops at the first zero block would not see them; one that skips zeros would."""
    hidden = gzip.decompress(tar_gz([("foo-1.0/evil.pth", b"import os")]))
    data = gzip.decompress(tar_gz(GOOD)) + hidden
    path = tmp_path / "foo-1.0.tar.gz"
    path.write_bytes(gzip.compress(data, mtime=0))
    assert "data after the end of the tar archive" in refused(path)


def test_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = [*GOOD, *((f"foo-1.0/f{i}", b"") for i in range(20))]
    path = sdist(tmp_path, many)
    assert inspect_sdist(path).name == "foo"
    monkeypatch.setattr(dists, "MAX_SDIST_MEMBERS", 10)
    assert "more than 10 members" in refused(path)
    monkeypatch.undo()
    big = sdist(tmp_path, [*GOOD[:1], ("foo-1.0/PKG-INFO", PKG_INFO + b"Description: " + b"x" * dists.MAX_PKG_INFO)])
    assert f"more than {dists.MAX_PKG_INFO}" in refused(big)
    monkeypatch.setattr(dists, "MAX_SDIST_UNPACKED", 64 * 1024)
    bomb = sdist(tmp_path, [*GOOD, ("foo-1.0/zeros", bytes(1024 * 1024))])
    assert len(bomb.read_bytes()) < 4096
    assert "unpacks to more than 65536 bytes" in refused(bomb)
    monkeypatch.setattr(dists, "MAX_EXTENDED_HEADER", 600)
    long_name = sdist(tmp_path, [*GOOD, ("foo-1.0/" + "d/" * 600 + "x", b"")])  # a pax header holds the name
    assert "an extended tar header of" in refused(long_name)
    monkeypatch.undo()
    assert "has a name longer than 1024" in refused(long_name)


def test_undecodable_member_names_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1") as tar:
        for name, data in [*GOOD[1:], ("foo-1.0/caf\xe9", b"")]:
            info = tarfile.TarInfo(name)
            info.size = len(data or b"")
            tar.addfile(info, io.BytesIO(data or b""))
    path = tmp_path / "foo-1.0.tar.gz"
    path.write_bytes(buffer.getvalue())
    assert "not a readable .tar.gz" in refused(path)


def test_missing_file_and_hostile_names(tmp_path: Path) -> None:
    with pytest.raises(PipperError, match="no such file"):
        inspect_sdist(tmp_path / "foo-1.0.tar.gz")
    hostile = [*GOOD, ("foo-1.0/\x1b[31mred/../../x", b"")]
    text = refused(sdist(tmp_path, hostile))
    assert "'foo-1.0/\\x1b[31mred/../../x'" in text


def test_poetry_core_and_setuptools_sdists_are_accepted(tmp_path: Path) -> None:
    """Real backends' sdists pass the checks (PKG-INFO trusted when they say so)."""
    from .helpers import ROOT

    for example in ("acme-strings", "acme-math", "acme-report"):
        out = tmp_path / example
        subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out), str(ROOT / "examples" / example)],
                       check=True, capture_output=True)
        (path,) = out.glob("*.tar.gz")
        info = inspect_sdist(path)
        assert info.version in path.name and info.requires_python == ">=3.9"


# -- wheels -------------------------------------------------------------------------------------


def check(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        check_wheel_tags(z, wheel.name)


def wheel_refused(wheel: Path) -> str:
    with pytest.raises(FormatError) as exc:
        check(wheel)
    text = str(exc.value)
    assert "\n" not in text and text.isprintable(), text
    return text


def test_platform_wheels_of_other_machines_are_valid(tmp_path: Path) -> None:
    for tags in (["cp312-cp312-macosx_11_0_arm64"], ["cp312-cp312-win_amd64"], ["py2.py3-none-any"],
                 ["cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"],
                 ["cp312-cp312-manylinux_2_17_aarch64", "cp312-cp312-manylinux2014_aarch64"]):
        wheel = make_wheel(tmp_path / tags[0], "foo", "1.0", tags=tags, requires=["x"])
        check(wheel)
        assert inspect_wheel(wheel).requires_dist == ["x"]
    assert wheel.name == "foo-1.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    with zipfile.ZipFile(wheel) as z:
        text = z.read("foo-1.0.dist-info/WHEEL").decode()
    assert "Root-Is-Purelib: false" in text and text.count("Tag: ") == 2
    built = make_wheel(tmp_path / "b", "foo", "1.0", build="7")
    assert built.name == "foo-1.0-7-py3-none-any.whl"
    check(built)


def test_compressed_tag_lines_are_expanded(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "foo", "1.0", tags=["py2.py3-none-any"],
                       wheel_text="Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py2.py3-none-any\n")
    check(wheel)


def test_renamed_wheel_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "foo", "1.0", tags=["cp312-cp312-macosx_11_0_arm64"])
    renamed = wheel.rename(tmp_path / "foo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")
    assert wheel_refused(renamed) == (
        "foo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl: its WHEEL file says tags cp312-cp312-macosx_11_0_arm64, "
        "its file name says cp312-cp312-manylinux_2_17_x86_64: the file was renamed or built wrongly; rebuild it"
    )
    # the CLI says it in one line too (bundle and publish read wheels with inspect_wheel)
    line = run_cli("bundle", str(renamed), "-o", str(tmp_path / "out")).assert_one_line_error()
    assert "its WHEEL file says tags cp312-cp312-macosx_11_0_arm64" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"tags": ["py3-none-any"], "wheel_tags": ["py2.py3-none-any"]}, "its WHEEL file says tags py2-none-any, its file name says nothing more"),
    ({"tags": ["py2.py3-none-any"], "wheel_tags": ["py3-none-any"]}, "its WHEEL file says tags nothing more, its file name says py2-none-any"),
    ({"tags": ["cp312-cp312-manylinux_2_17_x86_64"], "wheel_tags": [f"cp312-cp312-manylinux_2_{m}_x86_64" for m in range(17, 25)]},
     "its WHEEL file says tags cp312-cp312-manylinux_2_18_x86_64, cp312-cp312-manylinux_2_19_x86_64, cp312-cp312-manylinux_2_20_x86_64 and 4 more"),
    ({"wheel_text": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"}, "its WHEEL file has no Tag line"),
    ({"wheel_text": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none\n"}, "malformed Tag line 'py3-none'"),
    ({"wheel_text": "Root-Is-Purelib: true\nTag: py3-none-any\n"}, "WHEEL has no valid Wheel-Version line"),
    ({"wheel_text": "Wheel-Version: one\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}, "no valid Wheel-Version"),
    ({"wheel_text": "Wheel-Version: 1.0\nWheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}, "no valid Wheel-Version"),
    ({"wheel_text": "Wheel-Version: 2.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}, "Wheel-Version 2.0 is not supported (only 1.x)"),
    ({"wheel_text": "Wheel-Version: 1.0\nTag: py3-none-any\n"}, "exactly one Root-Is-Purelib line"),
    ({"wheel_text": "Wheel-Version: 1.0\nRoot-Is-Purelib: maybe\nTag: py3-none-any\n"}, "exactly one Root-Is-Purelib line"),
    ({"wheel_text": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nBuild: 2\nTag: py3-none-any\n"}, "WHEEL says Build '2', the file name says none"),
    ({"build": "3", "wheel_text": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nBuild: 2\nTag: py3-none-any\n"}, "the file name says 3"),
])
def test_wheel_file_problems_are_refused(tmp_path: Path, kwargs: dict[str, object], expected: str) -> None:
    wheel = make_wheel(tmp_path, "foo", "1.0", **kwargs)  # type: ignore[arg-type]
    text = wheel_refused(wheel)
    assert text.startswith(f"{wheel.name}: ") and expected in text, text


def test_wheel_file_count_size_and_encoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = make_wheel(tmp_path, "foo", "1.0")
    with zipfile.ZipFile(wheel, "a") as z:
        z.writestr("other-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    assert "expected one .dist-info/WHEEL, found 2" in wheel_refused(wheel)
    latin = make_wheel(tmp_path / "l", "foo", "1.0", wheel_text="Wheel-Version: 1.0\nGenerator: caf\xe9\n")
    with zipfile.ZipFile(latin) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["foo-1.0.dist-info/WHEEL"] = "Wheel-Version: 1.0\nGenerator: caf\xe9\n".encode("latin-1")
    with zipfile.ZipFile(latin, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
    assert "not UTF-8 text" in wheel_refused(latin)
    monkeypatch.setattr(dists, "MAX_WHEEL_FILE", 10)
    assert "implausibly large" in wheel_refused(make_wheel(tmp_path / "s", "foo", "1.0"))
    with zipfile.ZipFile(make_wheel(tmp_path / "n", "foo", "1.0")) as z, pytest.raises(FormatError, match="not a valid wheel file name"):
        check_wheel_tags(z, "foo.whl")
