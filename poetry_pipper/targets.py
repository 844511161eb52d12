"""The environment files are chosen for: this interpreter, or another machine described as ``pip download`` does.

A :class:`Target` is a Python version, the wheel tags it accepts (most specific first, in
``packaging.tags.sys_tags()`` order) and a PEP 508 marker environment. :func:`choose` picks the
file of a release to install for a target, as pip would: the most specific compatible wheel
(ties broken by build tag), else the sdist; Requires-Python honoured; yanked files only when
nothing else fits.

Custom targets (``--python-version/--platform/--implementation/--abi``) give the tags pip's
``get_supported()`` gives, with one deliberate difference: a ``manylinux_2_X`` or ``musllinux_1_X``
platform also accepts the older glibc/musl versions (and the ``manylinux1/2010/2014`` aliases), as
the running machine's own tags and uv do; pip expands only ``manylinux2014``/``manylinux2010``.

The marker environment of a custom target is derived from the options; what cannot be known
about another machine is set as follows (documented in :meth:`Target.custom`):

* without ``--platform``, every platform marker is this machine's (pip too uses this machine's
  platform then); with it, the first platform decides, and ``platform_release`` and
  ``platform_version`` are ``""``; so is ``platform_machine`` for macOS ``universal2``/``intel``/
  ``fat*`` and iOS (no single machine), and every platform marker of a platform family not
  listed in ``_FAMILIES`` (FreeBSD, ``any``...);
* a Python version given as ``3.12`` is ``3.12.0`` (pip does the same), ``3`` is ``3.0.0``;
* ``implementation_version`` is the Python version for CPython and ``""`` for other
  implementations (PyPy's own version is not a Python version);
* ``--implementation py`` (any implementation) keeps this interpreter's implementation markers.

A marker comparing a ``""`` value with ``==`` is false, so a dependency for an unknown platform
is left out rather than guessed.
"""

from __future__ import annotations

import platform as _platform
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Protocol, TypeVar

from packaging import tags as _tags
from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName, default_environment
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from .errors import NotFound, PipperError

#: The option that refuses sdists, named in "nothing fits" messages.
NO_SDIST_OPTION = "--only-binary"
#: Files listed one by one in a "nothing fits" message; the rest are counted by reason.
MAX_LISTED = 10

_IMPLEMENTATIONS = {"cp": "CPython", "pp": "PyPy", "ip": "IronPython", "jy": "Jython", "graalpy": "GraalVM"}
_IMPLEMENTATION_NAMES = {"cp": "cpython", "pp": "pypy", "ip": "ironpython", "jy": "jython", "graalpy": "graalpy"}
_TAG_PART = re.compile(r"^[a-z0-9_]+$")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9._+!-]+$")
_PYTHON_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")
_APPLE = re.compile(r"^(macosx|ios)_(\d+)_(\d+)_([a-z0-9_]+)$")
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_([a-z0-9_]+)$")
_MANYLINUX_LEGACY = re.compile(r"^manylinux(1|2010|2014)_([a-z0-9_]+)$")
_MUSLLINUX = re.compile(r"^musllinux_(\d+)_(\d+)_([a-z0-9_]+)$")
_ANDROID = re.compile(r"^android_(\d+)_([a-z0-9_]+)$")
_LEGACY_GLIBC = {"1": 5, "2010": 12, "2014": 17}
_GLIBC_ALIAS = {5: "manylinux1", 12: "manylinux2010", 17: "manylinux2014"}
_ANDROID_MACHINES = {"arm64_v8a": "aarch64", "armeabi_v7a": "armv7l", "x86_64": "x86_64", "x86": "i686"}
_WINDOWS_MACHINES = {"win_amd64": "AMD64", "win_arm64": "ARM64"}
#: Platform tag prefix -> (sys_platform, platform_system, os_name).
_FAMILIES = {
    "macosx": ("darwin", "Darwin", "posix"),
    "manylinux": ("linux", "Linux", "posix"),
    "musllinux": ("linux", "Linux", "posix"),
    "linux": ("linux", "Linux", "posix"),
    "win": ("win32", "Windows", "nt"),
    "ios": ("ios", "iOS", "posix"),
    "android": ("android", "Android", "posix"),
}


class TargetError(PipperError):
    """A --python-version, --platform, --implementation or --abi value is invalid."""


class NoCompatibleFile(NotFound):
    """No file of a release can be installed on the target."""


class Distribution(Protocol):
    """One file of a release, as the repository describes it."""

    @property
    def filename(self) -> str: ...

    @property
    def requires_python(self) -> str | None: ...

    @property
    def yanked(self) -> bool: ...


D = TypeVar("D", bound=Distribution)


@dataclass(frozen=True)
class Target:
    """An environment to choose files for.

    ``python_version`` is the full version (``3.12.0``) Requires-Python is checked against,
    ``tags`` the compatible wheel tags, most specific first, ``environment`` the PEP 508 marker
    environment (without ``extra``). ``label`` describes it in messages.
    """

    python_version: str
    tags: tuple[Tag, ...]
    environment: Mapping[str, str] = field(hash=False)
    label: str = field(default="", compare=False)

    @classmethod
    def current(cls) -> Target:
        """This interpreter: ``sys_tags()`` and ``default_environment()``."""
        environment = {k: str(v) for k, v in default_environment().items()}
        tags = tuple(_tags.sys_tags())
        version = ".".join(map(str, sys.version_info[:3]))
        where = tags[0].platform if tags else sys.platform
        return cls(version, tags, MappingProxyType(environment),
                   f"{_platform.python_implementation()} {version} on {where}")

    @classmethod
    def custom(
        cls,
        python_version: str | None = None,
        platforms: Sequence[str] = (),
        implementation: str | None = None,
        abis: Sequence[str] = (),
    ) -> Target:
        """Another machine, as ``pip download --python-version/--platform/--implementation/--abi``.

        Each option left out is this interpreter's, as in pip. Raises :class:`TargetError`
        (one line) for a malformed value. See the module docstring for the marker environment.
        """
        version = parse_python_version(python_version) if python_version else None
        impl = parse_implementation(implementation) if implementation else None
        plats = [parse_platform(p) for p in platforms]
        abi_list = [parse_abi(a) for a in abis]
        if version is None and impl is None and not plats and not abi_list:
            return cls.current()
        tags = tuple(_dedupe(supported_tags(version, _expand_platforms(plats) or None, impl, abi_list or None)))
        environment = _custom_environment(version, plats[0] if plats else None, impl)
        full = ".".join(map(str, (*version, 0, 0)[:3])) if version else ".".join(map(str, sys.version_info[:3]))
        name = _IMPLEMENTATIONS.get(impl or _tags.interpreter_name(), "Python") if impl != "py" else "Python"
        label = f"{name} {full} on {', '.join(plats) if plats else _this_platform()}"
        if abi_list:
            label += f" (ABI {', '.join(abi_list)})"
        return cls(full, tags, MappingProxyType(environment), label)

    @classmethod
    def of_interpreter(cls, python: str) -> Target:
        """Another interpreter on this machine (a project's virtualenv): its own tags and markers.

        It runs that interpreter once with this process's ``packaging`` on its path (pure Python, so
        any Python 3 can import it), as pip would compute them inside it.
        """
        import json
        import os
        import subprocess

        import packaging

        probe = ("import json, sys, platform; from packaging import tags, markers;"
                 "print(json.dumps({'tags': [str(t) for t in tags.sys_tags()],"
                 " 'env': {k: str(v) for k, v in markers.default_environment().items()},"
                 " 'version': '.'.join(map(str, sys.version_info[:3])), 'impl': platform.python_implementation()}))")
        env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(packaging.__file__))}
        try:
            done = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=env, timeout=60, check=True)
            data = json.loads(done.stdout)
            tags = tuple(t for text in data["tags"] for t in _tags.parse_tag(text))
        except (OSError, ValueError, KeyError, TypeError, subprocess.SubprocessError) as exc:
            raise TargetError(f"cannot ask {python} which wheels it accepts ({_first_line(exc)}): check that it runs") from None
        where = tags[0].platform if tags else "?"
        return cls(str(data["version"]), tags, MappingProxyType({str(k): str(v) for k, v in data["env"].items()}),
                   f"{data['impl']} {data['version']} on {where}")

    @cached_property
    def ranks(self) -> Mapping[Tag, int]:
        """Each compatible tag's position in :attr:`tags` (lower is more specific)."""
        ranks: dict[Tag, int] = {}
        for rank, tag in enumerate(self.tags):
            ranks.setdefault(tag, rank)
        return ranks

    def rank(self, wheel_tags: Iterable[Tag]) -> int | None:
        """The best (lowest) rank among a wheel's tags, or None when none is compatible."""
        found = [self.ranks[t] for t in wheel_tags if t in self.ranks]
        return min(found) if found else None

    def allows_python(self, requires_python: str | None) -> bool:
        """Whether :attr:`python_version` satisfies a Requires-Python value.

        None or empty allows everything. An unparseable value is ignored (allows everything), as
        pip and uv ignore it when they install the file; :func:`requires_python_problem` says so
        in a line the caller can print as a warning.
        """
        spec = _specifier(requires_python)
        return spec is None or spec.contains(Version(self.python_version), prereleases=True)

    def evaluate(self, marker: Marker | str | None, extras: Iterable[str] = ()) -> bool:
        """Whether a PEP 508 marker holds on this target, for a requirement wanted with ``extras``.

        The marker holds if it holds without an extra or with any of ``extras`` (how pip
        evaluates ``Requires-Dist`` of a package installed with those extras).
        """
        if marker is None:
            return True
        try:
            parsed = marker if isinstance(marker, Marker) else Marker(marker)
            env = dict(self.environment)
            return any(parsed.evaluate({**env, "extra": extra}) for extra in ("", *extras))
        except InvalidMarker as exc:
            raise PipperError(f"invalid environment marker {_show(str(marker))}: {_first_line(exc)}") from None
        except (UndefinedComparison, UndefinedEnvironmentName) as exc:
            raise PipperError(f"environment marker {_show(str(marker))} cannot be evaluated: {_first_line(exc)}") from None


def requires_python_problem(requires_python: str | None) -> str | None:
    """A one-line warning when a Requires-Python value cannot be parsed (it is then ignored)."""
    if not requires_python or _specifier(requires_python) is not None:
        return None
    return f"Requires-Python {_show(requires_python)} is not a valid version specifier; it is ignored, as pip ignores it"


def _specifier(requires_python: str | None) -> SpecifierSet | None:
    if not requires_python or not requires_python.strip():
        return None
    try:
        return SpecifierSet(requires_python)
    except InvalidSpecifier:
        return None


# -- option values ------------------------------------------------------------------------------


def parse_python_version(text: str) -> tuple[int, ...]:
    """``3``, ``312``, ``3.12`` or ``3.12.1`` (pip's ``--python-version`` forms) as a tuple."""
    value = text.strip()
    if not _PYTHON_VERSION.match(value):
        raise TargetError(
            f"invalid --python-version {_show(text)}: give up to three whole numbers separated by dots, as in 3.12, 312, 3.12.1 or 3"
        )
    parts = value.split(".")
    if len(parts) == 1 and len(value) > 1:
        parts = [value[0], value[1:]]
    version = tuple(int(p) for p in parts)
    if version[0] not in (2, 3):
        raise TargetError(f"invalid --python-version {_show(text)}: Python {version[0]} does not exist; use 3.x, e.g. 3.12")
    return version


def parse_implementation(text: str) -> str:
    """An implementation code (``cp``, ``pp``, ``ip``, ``jy``, ``graalpy``, ``py``) or a long name (``cpython``)."""
    value = text.strip().lower()
    value = _tags.INTERPRETER_SHORT_NAMES.get(value, value)
    if value not in _IMPLEMENTATIONS and value != "py":
        raise TargetError(
            f"unknown --implementation {_show(text)}: use one of {', '.join(_IMPLEMENTATIONS)}, or py for implementation-agnostic wheels"
        )
    return value


def parse_abi(text: str) -> str:
    value = text.strip().lower()
    if not _TAG_PART.match(value):
        raise TargetError(f"invalid --abi {_show(text)}: an ABI tag has only letters, digits and '_', e.g. cp312, abi3 or none")
    return value


def parse_platform(text: str) -> str:
    """A platform tag, checked for the shape of its family (``macosx_11_0_arm64``, ``manylinux_2_28_x86_64``...)."""
    value = text.strip().lower()
    if not _TAG_PART.match(value):
        hint = re.sub(r"[-.]", "_", value) if "-" in value else ""
        advice = (f"did you mean {_show(hint)}?" if hint and _TAG_PART.match(hint)
                  else "pass each platform with its own --platform, e.g. --platform manylinux_2_28_x86_64")
        raise TargetError(f"invalid --platform {_show(text)}: a platform tag has only letters, digits and '_'; {advice}")
    shapes = {
        "macosx": (_APPLE, "macosx_MAJOR_MINOR_ARCH, e.g. macosx_11_0_arm64"),
        "ios": (_APPLE, "ios_MAJOR_MINOR_ARCH, e.g. ios_13_0_arm64_iphoneos"),
        "android": (_ANDROID, "android_APILEVEL_ABI, e.g. android_24_arm64_v8a"),
        "musllinux": (_MUSLLINUX, "musllinux_1_MINOR_ARCH, e.g. musllinux_1_2_x86_64"),
    }
    family = value.split("_", 1)[0]
    if family.startswith("manylinux"):
        if not (_MANYLINUX.match(value) or _MANYLINUX_LEGACY.match(value)):
            raise TargetError(f"invalid --platform {_show(text)}: use manylinux_2_MINOR_ARCH (e.g. manylinux_2_28_x86_64) or manylinux2014_ARCH")
    elif family in shapes and not shapes[family][0].match(value):
        raise TargetError(f"invalid --platform {_show(text)}: use {shapes[family][1]}")
    return value


# -- tags ---------------------------------------------------------------------------------------


def supported_tags(
    version: tuple[int, ...] | None,
    platforms: list[str] | None,
    implementation: str | None,
    abis: list[str] | None,
) -> Iterator[Tag]:
    """pip's ``get_supported()`` with packaging's public API (platforms already expanded)."""
    nodot = "".join(map(str, version[:2])) if version else None
    py_version = (version[0], *version[1:2]) if version else None
    interpreter = f"{implementation or _tags.interpreter_name()}{nodot or _tags.interpreter_version()}"
    if (implementation or _tags.interpreter_name()) == "cp":
        yield from _tags.cpython_tags(python_version=py_version, abis=abis, platforms=platforms)
    else:
        yield from _tags.generic_tags(interpreter=interpreter, abis=abis, platforms=platforms)
    yield from _tags.compatible_tags(python_version=py_version, interpreter=interpreter, platforms=platforms)


def _dedupe(tags: Iterable[Tag]) -> Iterator[Tag]:
    seen: set[Tag] = set()
    for tag in tags:
        if tag not in seen:
            seen.add(tag)
            yield tag


def _expand_platforms(platforms: list[str]) -> list[str]:
    """Each platform followed by the older ones it runs (pip's ``_expand_allowed_platforms``, plus glibc/musl)."""
    result: list[str] = []
    for given in platforms:
        result.extend(p for p in expand_platform(given) if p not in result)
    return result


def expand_platform(platform: str) -> list[str]:
    """The platforms a machine of ``platform`` runs, most specific first."""
    if m := _APPLE.match(platform):
        family, major, minor, arch = m[1], int(m[2]), int(m[3]), m[4]
        expand = _tags.mac_platforms if family == "macosx" else getattr(_tags, "ios_platforms", None)
        return list(expand((major, minor), arch)) if expand else [platform]
    if (m := _ANDROID.match(platform)) and hasattr(_tags, "android_platforms"):
        return list(_tags.android_platforms(int(m[1]), m[2]))
    if m := _MANYLINUX_LEGACY.match(platform):
        return _manylinux(2, _LEGACY_GLIBC[m[1]], m[2], first=platform)
    if (m := _MANYLINUX.match(platform)) and m[1] == "2":
        return _manylinux(2, int(m[2]), m[3], first=platform)
    if m := _MUSLLINUX.match(platform):
        return [f"musllinux_{m[1]}_{minor}_{m[3]}" for minor in range(int(m[2]), -1, -1)]
    return [platform]


def _manylinux(major: int, minor: int, arch: str, *, first: str) -> list[str]:
    """glibc ``major.minor`` down to the oldest manylinux for ``arch`` (2.5 on x86, 2.17 elsewhere)."""
    oldest = 5 if arch in ("x86_64", "i686") else 17
    result = [first]
    for m in range(minor, oldest - 1, -1):
        for name in (f"manylinux_{major}_{m}_{arch}", f"{_GLIBC_ALIAS[m]}_{arch}" if m in _GLIBC_ALIAS else ""):
            if name and name not in result:
                result.append(name)
    return result


# -- marker environment -------------------------------------------------------------------------


def _this_platform() -> str:
    return next(iter(_tags.sys_tags())).platform


def _custom_environment(version: tuple[int, ...] | None, platform: str | None, impl: str | None) -> dict[str, str]:
    env = {k: str(v) for k, v in default_environment().items()}
    if impl and impl != "py":
        env["implementation_name"] = _IMPLEMENTATION_NAMES[impl]
        env["platform_python_implementation"] = _IMPLEMENTATIONS[impl]
        env["implementation_version"] = ""
    if version:
        full = (*version, 0, 0)[:3]
        env["python_version"] = f"{full[0]}.{full[1]}"
        env["python_full_version"] = ".".join(map(str, full))
        env["implementation_version"] = ""
    if env["implementation_name"] == "cpython":
        env["implementation_version"] = env["python_full_version"]
    if platform:
        env.update(platform_environment(platform))
    return env


def platform_environment(platform: str) -> dict[str, str]:
    """The platform markers of a machine of ``platform`` (``""`` for what the tag does not tell)."""
    family = platform.split("_", 1)[0]
    family = "manylinux" if family.startswith("manylinux") else "win" if family == "win32" else family
    sys_platform, system, os_name = _FAMILIES.get(family, ("", "", ""))
    machine = ""
    if m := _APPLE.match(platform):
        machine = m[4] if family == "macosx" and m[4] in ("arm64", "x86_64", "i386", "ppc", "ppc64") else ""
    elif m := _ANDROID.match(platform):
        machine = _ANDROID_MACHINES.get(m[2], "")
    elif family == "win":
        machine = _WINDOWS_MACHINES.get(platform, "")
    elif family in ("manylinux", "musllinux", "linux"):
        m = _MANYLINUX.match(platform) or _MUSLLINUX.match(platform) or _MANYLINUX_LEGACY.match(platform)
        machine = m[m.lastindex or 0] if m else platform.split("_", 1)[1] if "_" in platform else ""
    return {
        "sys_platform": sys_platform, "platform_system": system, "os_name": os_name,
        "platform_machine": machine, "platform_release": "", "platform_version": "",
    }


# -- choosing a file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Misfit:
    group: str  # what files are grouped by in a "nothing fits" message: "wrong platform"
    text: str  # the reason for this file alone: "wrong platform 'win_amd64'"


def _misfit(file: Distribution, target: Target, allow_sdist: bool) -> tuple[int | None, _Misfit | None]:
    """(the file's rank when it fits, else None; why it does not fit, else None). Sdists rank last."""
    name = file.filename
    if name.endswith(".whl"):
        try:
            _n, _v, _b, wheel_tags = parse_wheel_filename(name)
        except InvalidWheelFilename:
            return None, _Misfit("not a valid wheel file name", "not a valid wheel file name")
        rank = target.rank(wheel_tags)
        if rank is None:
            return None, _tag_mismatch(name, wheel_tags, target)
    else:
        try:
            parse_sdist_filename(name)
        except InvalidSdistFilename:
            return None, _Misfit("not a wheel or sdist file name", "not a wheel or sdist file name")
        if not allow_sdist:
            return None, _Misfit(f"sdists refused by {NO_SDIST_OPTION}", f"an sdist, refused by {NO_SDIST_OPTION}")
        rank = len(target.tags)
    if not target.allows_python(file.requires_python):
        text = f"Requires-Python {_show(file.requires_python or '', 60)}"
        return None, _Misfit(text, text)
    return rank, None


def unfit_reason(file: Distribution, target: Target, *, allow_sdist: bool = True) -> str | None:
    """Why ``file`` cannot be installed on ``target`` (a few words), or None when it can."""
    _rank, misfit = _misfit(file, target, allow_sdist)
    return misfit.text if misfit else None


def _tag_mismatch(filename: str, wheel_tags: frozenset[Tag], target: Target) -> _Misfit:
    """Which parts of a wheel's tags the target lacks, shown as in the file name."""
    interpreters, abis, platforms = filename[: -len(".whl")].split("-")[-3:]
    wrong: list[tuple[str, str]] = []
    wheel_interpreters = {t.interpreter for t in wheel_tags}
    # The interpreters the target has an ABI of its own for (cp312 for cp312-cp312, not the cp311 of cp311-abi3).
    main = {t.interpreter for t in target.tags if t.abi not in ("abi3", "abi3t", "none")}
    if not {(t.interpreter, t.abi) for t in target.tags} & {(t.interpreter, t.abi) for t in wheel_tags}:
        if not {t.interpreter for t in target.tags} & wheel_interpreters:
            wrong.append(("Python tag", interpreters))
        elif not {t.abi for t in target.tags} & {t.abi for t in wheel_tags}:
            wrong.append(("ABI", abis) if main & wheel_interpreters else ("Python tag", interpreters))
        else:
            wrong.append(("Python tag and ABI", f"{interpreters}-{abis}"))
    if not {t.platform for t in target.tags} & {t.platform for t in wheel_tags}:
        wrong.append(("platform", platforms))
    if not wrong:
        return _Misfit("tags not supported together",
                       f"tags {_show(f'{interpreters}-{abis}-{platforms}', 80)} not supported together")
    return _Misfit("wrong " + " and ".join(what for what, _ in wrong),
                   "wrong " + " and ".join(f"{what} {_show(value, 60)}" for what, value in wrong))


def choose(files: Iterable[D], target: Target, *, allow_sdist: bool = True) -> D:
    """The file to install on ``target``: the most specific compatible wheel, else the sdist.

    Ties between wheels are broken by build tag (the higher wins), then by file name. A yanked
    file is chosen only when no unyanked file fits (pip's order). File names that do not parse
    are never chosen. Raises :class:`NoCompatibleFile` naming each file and why it does not fit.
    """
    best: tuple[tuple[bool, int, tuple[int, str], str], D] | None = None
    misfits: list[tuple[D, _Misfit]] = []
    for file in files:
        rank, misfit = _misfit(file, target, allow_sdist)
        if misfit is not None or rank is None:
            misfits.append((file, misfit or _Misfit("unknown", "unknown")))
            continue
        build = parse_wheel_filename(file.filename)[2] if file.filename.endswith(".whl") else ()
        key = (not file.yanked, -rank, build or (-1, ""), file.filename)
        if best is None or key > best[0]:
            best = (key, file)
    if best is not None:
        return best[1]
    raise NoCompatibleFile(_nothing_fits(misfits, target))


def _release_of(names: Iterable[str]) -> str:
    found: set[tuple[str, str]] = set()
    for name in names:
        try:
            project, version = (parse_wheel_filename(name)[:2] if name.endswith(".whl")
                                else parse_sdist_filename(name))
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
        found.add((str(project), str(version)))
    return f"{next(iter(found))[0]} {next(iter(found))[1]}" if len(found) == 1 else "this release"


def _nothing_fits(misfits: Sequence[tuple[Distribution, _Misfit]], target: Target) -> str:
    """One line: the files grouped by why they do not fit, at most :data:`MAX_LISTED` names, then counts."""
    what = _release_of(f.filename for f, _ in misfits)
    if not misfits:
        return f"{what} has no files to install on {target.label}"
    groups: dict[str, list[str]] = {}
    for file, misfit in misfits:
        groups.setdefault(misfit.group, []).append(file.filename)
    quota = dict.fromkeys(groups, 0)  # names shown per group: shared out in turn, up to MAX_LISTED
    for _ in range(min(MAX_LISTED, len(misfits))):
        group = min((g for g in groups if quota[g] < len(groups[g])), key=lambda g: quota[g])
        quota[group] += 1
    parts = []
    for group, names in groups.items():
        rest = len(names) - quota[group]
        shown = ", ".join(_name(n) for n in sorted(names)[: quota[group]])
        parts.append(f"{group}: {shown}{f' and {rest} more' if rest else ''}")
    advice = "publish a wheel for it, choose another version, or target another machine with --platform/--python-version"
    if f"sdists refused by {NO_SDIST_OPTION}" in groups:
        advice = f"allow the sdist (no {NO_SDIST_OPTION}), or " + advice
    return f"no file of {what} can be installed on {target.label}: {'; '.join(parts)}; {advice}"


def _name(text: str) -> str:
    """A file name as is when it is made of the characters file names are made of, else quoted and escaped."""
    return text if _PLAIN_NAME.match(text) and len(text) <= 120 else _show(text)


def _show(text: str, limit: int = 120) -> str:
    """Untrusted text made safe to print on one line: quoted, escaped, shortened."""
    shown = repr(text[:limit])
    return shown[:-1] + "...'" if len(text) > limit else shown


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


__all__ = [
    "NO_SDIST_OPTION",
    "Distribution",
    "NoCompatibleFile",
    "Target",
    "TargetError",
    "choose",
    "expand_platform",
    "parse_abi",
    "parse_implementation",
    "parse_platform",
    "parse_python_version",
    "platform_environment",
    "requires_python_problem",
    "supported_tags",
    "unfit_reason",
]
