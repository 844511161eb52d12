"""Targets (this interpreter, or another machine as `pip download --platform ...` describes it) and choosing files."""

from __future__ import annotations

import platform as platform_module
import random
import subprocess
import sys
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import default_environment
from packaging.tags import Tag, parse_tag, sys_tags
from packaging.utils import parse_wheel_filename

from poetry_pipper.errors import NotFound, PipperError
from poetry_pipper.targets import (
    MAX_LISTED,
    NoCompatibleFile,
    Target,
    TargetError,
    choose,
    expand_platform,
    requires_python_problem,
    unfit_reason,
)


@dataclass(frozen=True)
class File:
    filename: str
    requires_python: str | None = None
    yanked: bool = False


def accepts(target: Target, tag: str) -> bool:
    return target.rank(parse_tag(tag)) is not None


def one_line(exc: pytest.ExceptionInfo[PipperError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and text.isprintable(), text
    return text


# -- targets ------------------------------------------------------------------------------------


def test_current_is_this_interpreter() -> None:
    target = Target.current()
    assert target.tags == tuple(sys_tags())
    assert dict(target.environment) == {k: str(v) for k, v in default_environment().items()}
    assert target.python_version == ".".join(map(str, sys.version_info[:3]))
    assert target == Target.current() and hash(target) == hash(Target.current())
    assert Target.custom() == target  # no option: this interpreter
    assert target.allows_python(f">={sys.version_info[0]}.{sys.version_info[1]}")
    assert not target.allows_python(">=3.99")


def test_macos_target_accepts_what_pip_would() -> None:
    target = Target.custom(python_version="3.12", platforms=["macosx_11_0_arm64"])
    for tag in ["cp312-cp312-macosx_11_0_arm64", "cp312-abi3-macosx_10_9_universal2", "py3-none-any",
                "cp39-abi3-macosx_11_0_arm64", "py312-none-macosx_10_9_universal2", "cp312-none-any"]:
        assert accepts(target, tag), tag
    for tag in ["cp311-cp311-macosx_11_0_arm64", "cp312-cp312-macosx_12_0_arm64", "cp312-cp312-macosx_11_0_x86_64",
                "cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-win_amd64", "py2-none-any", "pp312-pypy312_pp73-macosx_11_0_arm64"]:
        assert not accepts(target, tag), tag
    # Most specific first (pip's order): arm64 before universal2 before the stable ABI before pure Python.
    ranks = [target.rank(parse_tag(t)) for t in
             ["cp312-cp312-macosx_11_0_arm64", "cp312-cp312-macosx_10_9_universal2", "cp312-abi3-macosx_11_0_arm64", "py3-none-any"]]
    assert ranks == sorted(ranks)  # type: ignore[type-var]
    assert target.python_version == "3.12.0"
    assert target.label == "CPython 3.12.0 on macosx_11_0_arm64"


def test_manylinux_target_accepts_older_glibc_and_the_legacy_aliases() -> None:
    target = Target.custom(python_version="3.12", platforms=["manylinux_2_28_x86_64"])
    for platform in ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux2010_x86_64",
                     "manylinux1_x86_64", "manylinux_2_5_x86_64"]:
        assert accepts(target, f"cp312-cp312-{platform}"), platform
    for platform in ["manylinux_2_31_x86_64", "manylinux_2_28_aarch64", "musllinux_1_2_x86_64", "linux_x86_64", "macosx_11_0_arm64"]:
        assert not accepts(target, f"cp312-cp312-{platform}"), platform
    assert target.rank(parse_tag("cp312-cp312-manylinux_2_28_x86_64")) < target.rank(parse_tag("cp312-cp312-manylinux2014_x86_64"))  # type: ignore[operator]
    # aarch64 starts at manylinux2014 (glibc 2.17): there never were manylinux1/2010 wheels for it.
    assert expand_platform("manylinux_2_28_aarch64")[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert expand_platform("manylinux2014_x86_64")[:3] == ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_16_x86_64"]
    assert expand_platform("musllinux_1_2_x86_64") == ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64"]
    assert expand_platform("win_amd64") == ["win_amd64"]


def test_several_platforms_keep_their_order() -> None:
    target = Target.custom(python_version="3.12", platforms=["manylinux2014_x86_64", "macosx_11_0_arm64"])
    assert accepts(target, "cp312-cp312-manylinux1_x86_64") and accepts(target, "cp312-cp312-macosx_11_0_arm64")
    assert target.rank(parse_tag("cp312-cp312-manylinux2014_x86_64")) < target.rank(parse_tag("cp312-cp312-macosx_11_0_arm64"))  # type: ignore[operator]
    assert target.environment["sys_platform"] == "linux"  # the first platform decides


@pytest.mark.parametrize("version", ["3.12", "312", "3.12.0", " 3.12 "])
def test_python_version_forms(version: str) -> None:
    assert Target.custom(python_version=version, platforms=["win_amd64"]).tags == \
        Target.custom(python_version="3.12", platforms=["win_amd64"]).tags


def test_major_only_and_full_python_versions() -> None:
    three = Target.custom(python_version="3", platforms=["linux_x86_64"])
    assert three.python_version == "3.0.0" and three.environment["python_version"] == "3.0"
    assert accepts(three, "py3-none-any") and accepts(three, "cp3-none-linux_x86_64")
    assert not accepts(three, "cp312-abi3-linux_x86_64") and not accepts(three, "py312-none-any")
    full = Target.custom(python_version="3.12.4")
    assert full.python_version == "3.12.4" and full.environment["python_full_version"] == "3.12.4"
    assert full.allows_python(">=3.12.4") and not full.allows_python(">=3.12.5")
    # no --platform: this machine's platforms, as pip does
    assert {t.platform for t in full.tags} == {t.platform for t in sys_tags()}


def test_implementation_and_abi() -> None:
    pypy = Target.custom(python_version="3.10", implementation="pp", abis=["pypy310_pp73"], platforms=["manylinux_2_17_x86_64"])
    assert accepts(pypy, "pp310-pypy310_pp73-manylinux2014_x86_64") and accepts(pypy, "py3-none-any")
    assert not accepts(pypy, "cp310-cp310-manylinux2014_x86_64")
    env = pypy.environment
    assert (env["implementation_name"], env["platform_python_implementation"], env["implementation_version"]) == ("pypy", "PyPy", "")
    assert Target.custom(implementation="PyPy").tags == Target.custom(implementation="pp").tags  # long names too
    anything = Target.custom(python_version="3.11", implementation="py", platforms=["any"])
    assert accepts(anything, "py3-none-any") and accepts(anything, "py311-none-any")
    assert not accepts(anything, "cp311-cp311-manylinux_2_17_x86_64")
    abi3_only = Target.custom(python_version="3.12", platforms=["win_amd64"], abis=["abi3"])
    assert accepts(abi3_only, "cp38-abi3-win_amd64") and not accepts(abi3_only, "cp312-cp312-win_amd64")


# pip's get_supported() with platforms it does not expand differently: identical tags, in the same order.
PIP_CASES = [
    ("3.12", ["macosx_11_0_arm64"], None, []),
    ("3.9", ["macosx_10_9_x86_64"], "cp", ["cp39"]),
    ("310", ["win_amd64"], None, []),
    (None, ["linux_x86_64"], None, []),
    ("3.10", ["linux_x86_64"], "pp", ["pypy310_pp73"]),
    ("3.11", ["any"], "py", []),
    ("3", ["linux_aarch64"], None, []),
    ("3.12", [], None, ["cp312", "abi3"]),
    ("3.13", ["win_arm64", "win_amd64"], "cp", []),
]


@pytest.mark.parametrize(("version", "platforms", "impl", "abis"), PIP_CASES)
def test_tags_are_pips(version: str | None, platforms: list[str], impl: str | None, abis: list[str]) -> None:
    pytest.importorskip("pip._internal.models.target_python")
    from pip._internal.models.target_python import TargetPython

    from poetry_pipper.targets import parse_python_version

    info = parse_python_version(version) if version else None
    pip_tags = TargetPython(platforms=platforms or None, py_version_info=info, abis=abis or None,
                            implementation=impl).get_sorted_tags()
    ours = Target.custom(python_version=version, platforms=platforms, implementation=impl, abis=abis).tags
    assert [str(t) for t in ours] == list(dict.fromkeys(str(t) for t in pip_tags))


def test_manylinux2014_is_a_superset_of_pips() -> None:
    pytest.importorskip("pip._internal.models.target_python")
    from pip._internal.models.target_python import TargetPython

    pip_tags = [str(t) for t in TargetPython(platforms=["manylinux2014_x86_64"], py_version_info=(3, 12)).get_sorted_tags()]
    ours = [str(t) for t in Target.custom(python_version="3.12", platforms=["manylinux2014_x86_64"]).tags]
    assert set(pip_tags) < set(ours)
    positions = [ours.index(t) for t in dict.fromkeys(pip_tags)]
    assert positions == sorted(positions)  # pip's order is kept


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("python_version", "3.x", "invalid --python-version '3.x'"),
    ("python_version", "3.12.1.1", "up to three whole numbers"),
    ("python_version", "three", "invalid --python-version"),
    ("python_version", "-3", "invalid --python-version"),
    ("python_version", "4.0", "Python 4 does not exist"),
    ("implementation", "cpythonx", "unknown --implementation 'cpythonx': use one of cp, pp"),
    ("implementation", "c p", "unknown --implementation"),
    ("platforms", "macosx-11.0-arm64", "did you mean 'macosx_11_0_arm64'?"),
    ("platforms", "manylinux_2_17_x86_64.manylinux2014_x86_64", "pass each platform with its own --platform"),
    ("platforms", "macosx_11_arm64", "use macosx_MAJOR_MINOR_ARCH"),
    ("platforms", "manylinux_x86_64", "use manylinux_2_MINOR_ARCH"),
    ("platforms", "musllinux_x86_64", "use musllinux_1_MINOR_ARCH"),
    ("platforms", "", "invalid --platform ''"),
    ("platforms", "linux\x1b[31m", "invalid --platform 'linux\\x1b[31m'"),
    ("abis", "cp3.12", "invalid --abi 'cp3.12'"),
])
def test_bad_option_values_are_one_line_errors(option: str, value: str, expected: str) -> None:
    kwargs: dict[str, object] = {option: [value] if option in ("platforms", "abis") else value}
    with pytest.raises(TargetError) as exc:
        Target.custom(**kwargs)  # type: ignore[arg-type]
    assert expected in one_line(exc)


# -- markers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("platform", "expected"), [
    ("macosx_11_0_arm64", ("darwin", "Darwin", "posix", "arm64")),
    ("macosx_10_9_universal2", ("darwin", "Darwin", "posix", "")),
    ("manylinux_2_28_aarch64", ("linux", "Linux", "posix", "aarch64")),
    ("manylinux2014_x86_64", ("linux", "Linux", "posix", "x86_64")),
    ("musllinux_1_2_armv7l", ("linux", "Linux", "posix", "armv7l")),
    ("linux_x86_64", ("linux", "Linux", "posix", "x86_64")),
    ("win_amd64", ("win32", "Windows", "nt", "AMD64")),
    ("win_arm64", ("win32", "Windows", "nt", "ARM64")),
    ("win32", ("win32", "Windows", "nt", "")),
    ("android_24_arm64_v8a", ("android", "Android", "posix", "aarch64")),
    ("ios_13_0_arm64_iphoneos", ("ios", "iOS", "posix", "")),
    ("freebsd_14_0_release_amd64", ("", "", "", "")),
])
def test_marker_environment_from_the_platform(platform: str, expected: tuple[str, ...]) -> None:
    env = Target.custom(python_version="3.12", platforms=[platform]).environment
    assert (env["sys_platform"], env["platform_system"], env["os_name"], env["platform_machine"]) == expected
    assert env["platform_release"] == env["platform_version"] == ""
    assert (env["python_version"], env["python_full_version"], env["implementation_version"]) == ("3.12", "3.12.0", "3.12.0")


def test_evaluate_markers_and_extras_for_another_machine() -> None:
    mac = Target.custom(python_version="3.12", platforms=["macosx_11_0_arm64"])
    here = Target.current()
    assert mac.evaluate('sys_platform == "darwin" and platform_machine == "arm64"')
    assert not mac.evaluate('os_name == "nt"') and not here.evaluate('os_name == "nt"' if here.environment["os_name"] != "nt" else 'os_name != "nt"')
    assert mac.evaluate('python_version >= "3.12"') and not mac.evaluate('python_full_version < "3.12"')
    assert mac.evaluate(None)
    assert not mac.evaluate('extra == "test"') and mac.evaluate('extra == "test"', ["test"])
    assert mac.evaluate('extra == "Test_Extra"', ["test-extra"])  # extras compare normalized
    assert mac.evaluate('python_version >= "3.8" or extra == "x"', [])
    unknown = Target.custom(platforms=["freebsd_14_0_release_amd64"])
    assert not unknown.evaluate('sys_platform == "linux"') and not unknown.evaluate('sys_platform == "freebsd14"')
    assert unknown.evaluate('sys_platform != "linux"')  # a marker excluding a platform still holds
    unknown.evaluate('platform_release >= "5.0"')  # an unknown value compares without an exception
    with pytest.raises(PipperError) as exc:
        mac.evaluate('python_version >>> "3"\nsecond line')
    assert "invalid environment marker" in one_line(exc)  # type: ignore[arg-type]


def test_unparseable_requires_python_is_ignored_and_said_so() -> None:
    target = Target.custom(python_version="3.12")
    assert target.allows_python(None) and target.allows_python("") and target.allows_python(" ")
    assert target.allows_python(">=3.8, <4") and not target.allows_python(">=3.13")
    assert target.allows_python(">=3.x")  # as pip and uv: ignored
    assert requires_python_problem(">=3.x") == "Requires-Python '>=3.x' is not a valid version specifier; it is ignored, as pip ignores it"
    assert requires_python_problem(">=3.8") is None and requires_python_problem(None) is None
    assert choose([File("foo-1.0-py3-none-any.whl", ">=3.x")], target).filename == "foo-1.0-py3-none-any.whl"
    assert Target.custom(python_version="3.14").allows_python(">=3.14.0rc1")  # pre-releases of the target are fine


# -- choosing -----------------------------------------------------------------------------------

MAC = Target.custom(python_version="3.12", platforms=["macosx_11_0_arm64"])
RELEASE = [
    File("foo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
    File("foo-1.0-cp312-cp312-macosx_11_0_arm64.whl"),
    File("foo-1.0-cp312-abi3-macosx_10_9_universal2.whl"),
    File("foo-1.0-cp312-cp312-win_amd64.whl"),
    File("foo-1.0-py3-none-any.whl"),
    File("foo-1.0.tar.gz"),
]


def test_choose_the_most_specific_wheel_whatever_the_order() -> None:
    for files in permutations(RELEASE[:4] + RELEASE[4:]):
        assert choose(files, MAC).filename == "foo-1.0-cp312-cp312-macosx_11_0_arm64.whl"
    assert choose([f for f in RELEASE if "arm64" not in f.filename], MAC).filename == "foo-1.0-cp312-abi3-macosx_10_9_universal2.whl"
    assert choose(RELEASE[3:], MAC).filename == "foo-1.0-py3-none-any.whl"
    assert choose(RELEASE[5:], MAC).filename == "foo-1.0.tar.gz"  # the sdist only when no wheel fits
    linux = Target.custom(python_version="3.12", platforms=["manylinux_2_28_x86_64"])
    assert choose(RELEASE, linux).filename == RELEASE[0].filename
    win = Target.custom(python_version="3.12", platforms=["win_amd64"])
    assert choose(RELEASE, win).filename == "foo-1.0-cp312-cp312-win_amd64.whl"


def test_this_machine_gets_its_linux_wheel() -> None:
    if sys.platform != "linux" or platform_module.machine() != "x86_64" or platform_module.python_implementation() != "CPython":
        pytest.skip("the wheels below are for CPython on linux x86_64")
    py = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    linux = File(f"foo-1.0-{py}-{py}-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    files = [*RELEASE, linux, File(f"foo-1.0-{py}-{py}-macosx_11_0_arm64.whl"), File(f"foo-1.0-{py}-{py}-win_amd64.whl"),
             File(f"foo-1.0-{py}-{py}-manylinux_2_17_aarch64.whl"), File(f"foo-1.0-{py}-{py}-musllinux_1_2_x86_64.whl")]
    for order in (files, files[::-1]):
        assert choose(order, Target.current()) == linux


def test_build_tag_breaks_ties() -> None:
    files = [File("foo-1.0-py3-none-any.whl"), File("foo-1.0-9-py3-none-any.whl"), File("foo-1.0-10-py3-none-any.whl"),
             File("foo-1.0-10a-py3-none-any.whl")]
    for order in permutations(files):
        assert choose(order, MAC).filename == "foo-1.0-10a-py3-none-any.whl"
    assert choose(files[:3], MAC).filename == "foo-1.0-10-py3-none-any.whl"  # 10 > 9: numbers, not text
    # the tag order comes first: a better tag without a build tag beats a worse one with a build tag
    assert choose([*files, File("foo-1.0-cp312-cp312-macosx_11_0_arm64.whl")], MAC).filename == "foo-1.0-cp312-cp312-macosx_11_0_arm64.whl"


def test_requires_python_and_sdist_refusal() -> None:
    files = [File("foo-1.0-cp312-cp312-macosx_11_0_arm64.whl", ">=3.99"), File("foo-1.0-py3-none-any.whl", ">=3.13"),
             File("foo-1.0.tar.gz", ">=3.8")]
    assert choose(files, MAC).filename == "foo-1.0.tar.gz"
    with pytest.raises(NoCompatibleFile) as exc:
        choose(files, MAC, allow_sdist=False)
    text = one_line(exc)  # type: ignore[arg-type]
    assert text == (
        "no file of foo 1.0 can be installed on CPython 3.12.0 on macosx_11_0_arm64: "
        "Requires-Python '>=3.99': foo-1.0-cp312-cp312-macosx_11_0_arm64.whl; "
        "Requires-Python '>=3.13': foo-1.0-py3-none-any.whl; sdists refused by --only-binary: foo-1.0.tar.gz; "
        "allow the sdist (no --only-binary), or publish a wheel for it, choose another version, "
        "or target another machine with --platform/--python-version"
    )
    assert isinstance(exc.value, NotFound)


def test_yanked_files_only_when_nothing_else_fits() -> None:
    files = [File("foo-1.0-cp312-cp312-macosx_11_0_arm64.whl", yanked=True), File("foo-1.0.tar.gz")]
    assert choose(files, MAC).filename == "foo-1.0.tar.gz"  # pip's order: unyanked first
    assert choose(files[:1], MAC).filename == files[0].filename


def test_unparseable_names_are_ignored() -> None:
    junk = [File("foo.whl"), File("foo-1.0-py3-none.whl"), File("foo-1.0.exe"), File("README"), File("foo-1.0x!.tar.gz")]
    assert choose([*junk, File("foo-1.0-py3-none-any.whl")], MAC).filename == "foo-1.0-py3-none-any.whl"
    with pytest.raises(NoCompatibleFile) as exc:
        choose(junk, MAC)
    text = one_line(exc)  # type: ignore[arg-type]
    assert "no file of this release" in text
    assert "not a valid wheel file name: foo-1.0-py3-none.whl, foo.whl;" in text
    assert "not a wheel or sdist file name: README, foo-1.0.exe, foo-1.0x!.tar.gz;" in text


@pytest.mark.parametrize(("filename", "reason"), [
    ("foo-1.0-cp312-cp312-macosx_11_0_arm64.whl", None),
    ("foo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "wrong platform 'manylinux_2_17_x86_64.manylinux2014_x86_64'"),
    ("foo-1.0-cp311-cp311-macosx_11_0_arm64.whl", "wrong Python tag 'cp311'"),
    ("foo-1.0-cp311-cp311-win_amd64.whl", "wrong Python tag 'cp311' and platform 'win_amd64'"),
    ("foo-1.0-cp313-abi3-macosx_11_0_arm64.whl", "wrong Python tag 'cp313'"),
    ("foo-1.0-pp310-pypy310_pp73-macosx_11_0_arm64.whl", "wrong Python tag 'pp310'"),
    ("foo-1.0-cp312-abi3-any.whl", "tags 'cp312-abi3-any' not supported together"),
    ("foo-1.0-cp313-cp313-win_amd64.whl", "wrong Python tag 'cp313' and platform 'win_amd64'"),
    ("foo-1.0-cp312-cp312d-macosx_11_0_arm64.whl", "wrong ABI 'cp312d'"),
    ("foo-1.0-py2-none-any.whl", "wrong Python tag 'py2'"),
    ("foo-1.0-cp311-abi3-macosx_12_0_arm64.whl", "wrong platform 'macosx_12_0_arm64'"),
    ("foo-1.0-cp311-cp312-macosx_11_0_arm64.whl", "wrong Python tag and ABI 'cp311-cp312'"),
    ("foo-1.0.tar.gz", None),
    ("foo-1.0.zip", None),
])
def test_unfit_reason(filename: str, reason: str | None) -> None:
    assert unfit_reason(File(filename), MAC) == reason


def test_many_files_are_summarised() -> None:
    platforms = [f"manylinux_2_{m}_{arch}" for m in (17, 28, 31) for arch in ("x86_64", "aarch64", "ppc64le", "s390x")]
    files = [File(f"foo-2.0-cp312-cp312-{p}.whl") for p in platforms] + [File(f"foo-2.0-cp3{m}-cp3{m}-macosx_11_0_arm64.whl") for m in range(8, 12)]
    files += [File("foo-2.0-py3-none-any.whl", ">=3.13"), File("foo-2.0.tar.gz")]
    random.Random(4).shuffle(files)
    with pytest.raises(NoCompatibleFile) as exc:
        choose(files, MAC, allow_sdist=False)
    text = one_line(exc)  # type: ignore[arg-type]
    assert len(text) < 800, len(text)
    assert text.count(".whl") + text.count(".tar.gz") == MAX_LISTED
    # every reason is named, with at least one file each; the rest are counted
    assert "wrong platform: foo-2.0-cp312-cp312-manylinux_2_17_aarch64.whl, " in text and " and 8 more; " in text
    assert "wrong Python tag: foo-2.0-cp310-cp310-macosx_11_0_arm64.whl, " in text
    assert "Requires-Python '>=3.13': foo-2.0-py3-none-any.whl; sdists refused by --only-binary: foo-2.0.tar.gz; " in text
    with pytest.raises(NoCompatibleFile) as exc:
        choose([File(f"foo-2.0-cp312-cp312-{p}.whl") for p in platforms[:3]], MAC)
    assert "can be installed on CPython 3.12.0 on macosx_11_0_arm64: wrong platform: foo-2.0-cp312-cp312-manylinux_2_17_aarch64.whl, " \
        "foo-2.0-cp312-cp312-manylinux_2_17_ppc64le.whl, foo-2.0-cp312-cp312-manylinux_2_17_x86_64.whl; publish" in one_line(exc)  # type: ignore[arg-type]


def test_error_for_no_files_and_hostile_names() -> None:
    with pytest.raises(NoCompatibleFile) as exc:
        choose([], MAC)
    assert one_line(exc) == "this release has no files to install on CPython 3.12.0 on macosx_11_0_arm64"  # type: ignore[arg-type]
    hostile = [File("foo-1.0-cp312-cp312-\x1b[31mwin\n_amd64.whl"), File("x" * 5000 + ".tar.gz", "\r\n>=9")]
    with pytest.raises(NoCompatibleFile) as exc:
        choose(hostile, MAC)
    text = one_line(exc)  # type: ignore[arg-type]
    assert "\\x1b[31m" in text and len(text) < 800


NAMES = [f.filename for f in RELEASE] + ["foo-1.0-1-py3-none-any.whl", "foo-1.0-cp312-abi3-macosx_11_0_arm64.whl",
                                          "foo-1.0-cp39-abi3-macosx_11_0_arm64.whl", "foo-1.0-py2.py3-none-any.whl", "bad.whl"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from([None, ">=3.13", ">=3.8"]), st.booleans()),
                min_size=1, max_size=8, unique_by=lambda t: t[0]), st.booleans(), st.randoms())
def test_choice_fits_is_best_and_ignores_order(entries: list[tuple[str, str | None, bool]], allow_sdist: bool, rnd: random.Random) -> None:
    files = [File(*e) for e in entries]
    try:
        chosen = choose(files, MAC, allow_sdist=allow_sdist)
    except NoCompatibleFile:
        assert all(unfit_reason(f, MAC, allow_sdist=allow_sdist) for f in files)
        return
    assert unfit_reason(chosen, MAC, allow_sdist=allow_sdist) is None
    shuffled = files[:]
    rnd.shuffle(shuffled)
    assert choose(shuffled, MAC, allow_sdist=allow_sdist) == chosen
    fitting = [f for f in files if unfit_reason(f, MAC, allow_sdist=allow_sdist) is None]
    if any(not f.yanked for f in fitting):
        assert not chosen.yanked
        best = wheel_rank(chosen.filename)
        assert all(wheel_rank(f.filename) >= best for f in fitting if not f.yanked)


def wheel_rank(filename: str) -> int:
    if not filename.endswith(".whl"):
        return len(MAC.tags)
    rank = MAC.rank(parse_wheel_filename(filename)[3])
    assert rank is not None
    return rank


def test_tag_type_is_packagings() -> None:
    assert isinstance(MAC.tags[0], Tag) and MAC.tags[0] == Tag("cp312", "cp312", "macosx_11_0_arm64")


# -- the same choice as pip download ------------------------------------------------------------

PIP_FILES = [
    "demo-1.0-cp312-cp312-macosx_11_0_arm64.whl:cp312-cp312-macosx_11_0_arm64",
    "demo-1.0-cp312-abi3-macosx_10_9_universal2.whl:cp312-abi3-macosx_10_9_universal2",
    "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl:cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "demo-1.0-cp311-cp311-manylinux1_x86_64.whl:cp311-cp311-manylinux1_x86_64",
    "demo-1.0-cp310-cp310-win_amd64.whl:cp310-cp310-win_amd64",
    "demo-1.0-cp38-abi3-win_amd64.whl:cp38-abi3-win_amd64",
    "demo-1.0-py3-none-any.whl:py3-none-any",
]


@pytest.mark.parametrize("options", [
    ["--platform", "macosx_11_0_arm64", "--python-version", "3.12"],
    ["--platform", "macosx_12_0_x86_64", "--python-version", "3.12"],
    ["--platform", "manylinux2014_x86_64", "--python-version", "311"],
    ["--platform", "manylinux2010_x86_64", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"],
    ["--platform", "win_amd64", "--python-version", "3.10"],
    ["--platform", "win_amd64", "--python-version", "3.9"],
    ["--platform", "win32", "--python-version", "3.12"],
    [],
])
def test_same_choice_as_pip_download(tmp_path: Path, options: list[str]) -> None:
    """pip download, given the same wheels (made by make_wheel) and options, saves the file choose() picks."""
    from .helpers import make_wheel

    for entry in PIP_FILES:
        make_wheel(tmp_path / "links", "demo", "1.0", tags=[entry.split(":")[1]])
    assert sorted(p.name for p in (tmp_path / "links").iterdir()) == sorted(e.split(":")[0] for e in PIP_FILES)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-index", "--no-deps", "--only-binary=:all:",
                    "--find-links", str(tmp_path / "links"), "-d", str(tmp_path / "got"), *options, "demo"],
                   check=True, capture_output=True)
    (got,) = (tmp_path / "got").iterdir()
    values = dict(zip(options[::2], options[1::2], strict=True))
    target = Target.custom(python_version=values.get("--python-version"), platforms=[values["--platform"]] if "--platform" in values else [],
                           implementation=values.get("--implementation"), abis=[values["--abi"]] if "--abi" in values else [])
    files = [File(e.split(":")[0]) for e in PIP_FILES]
    assert choose(files, target, allow_sdist=False).filename == got.name
