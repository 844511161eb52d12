"""Bundles: a ``.pipper`` file is a zip holding one wheel and a JSON description of it.

Members (the same names the original pipper 0.x used, so its bundles read here too):

* ``package.meta`` - JSON: ``bundle_format``, ``name``, ``version``, ``wheel_name``,
  ``sha256``, ``size``, ``requires_dist``, ``requires_python``, ``summary`` and the
  ``dependencies`` list of the project's ``pipper.json``;
* ``package.whl`` - the wheel, stored uncompressed.

Bundles are reproducible: the same wheel and ``dependencies`` give byte-identical bundles.
Reading one never trusts a member name as a path and checks every size and hash.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.metadata import InvalidMetadata, Metadata
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from .dists import DistInfo, check_wheel_members, check_wheel_tags
from .download import sha256_file
from .errors import FormatError, IntegrityError, PipperError
from .reproducible import build_environment
from .schema import MAX_FILENAME, Fields, Unreadable, file_kind, is_requirement, load_bounded

BUNDLE_FORMAT = 1
META_MEMBER = "package.meta"
WHEEL_MEMBER = "package.whl"
BUNDLE_SUFFIX = ".pipper"
MAX_META_SIZE = 1024 * 1024
META_REPAIR = "the bundle is damaged or was not made by pipper: rebuild it with `pipper bundle`"
MAX_WHEEL_SIZE = 5 * 1024**3
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_HASH_CHUNK = 1024 * 1024
# Copied into the private build directory: everything except build litter and VCS data.
_IGNORE = shutil.ignore_patterns(
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "dist", "build", "__pycache__",
    "*.egg-info", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules", "*.pipper",
)


def safe_version(version: str) -> str:
    """The original pipper's object-name encoding of a version (``v1-2-3__pre_rc_1``)."""
    v = Version(version)
    text = "v" + "-".join(str(p) for p in v.release)
    if v.pre:
        text += f"__pre_{v.pre[0]}_{v.pre[1]}"
    if v.local:
        text += "__build_" + v.local.replace(".", "_")
    return text


@dataclass(frozen=True)
class BundleMeta:
    """What a bundle (and the repository's release record) says about one wheel."""

    name: str
    version: str
    wheel_name: str
    sha256: str
    size: int
    requires_dist: list[str] = field(default_factory=list)
    requires_python: str | None = None
    summary: str = ""
    dependencies: list[str] = field(default_factory=list)
    #: When the wheel was built (its newest member's zip date), ISO 8601. pipper 0.x shows it
    #: and requires it; taken from the wheel so bundles stay reproducible.
    timestamp: str = ""

    @property
    def project(self) -> str:
        return canonicalize_name(self.name)

    def fields(self) -> dict[str, Any]:
        """The metadata alone, as release records and pre-authorized files carry it."""
        return asdict(self)

    def to_json(self) -> dict[str, Any]:
        """The bundle's ``package.meta``: the fields plus the bundle format and pipper 0.x's keys."""
        data = self.fields()
        data["bundle_format"] = BUNDLE_FORMAT
        data["safe_version"] = safe_version(self.version)  # read by pipper 0.x
        return data

    @classmethod
    def from_json(cls, data: Any, *, origin: str) -> BundleMeta:
        """A ``package.meta`` (or a 0.x one, without hash and size), checked field by field."""
        if not isinstance(data, dict):
            raise FormatError(f"{origin}: metadata is not a JSON object")
        fmt = data.get("bundle_format", 0)
        if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt > BUNDLE_FORMAT:
            raise FormatError(
                f"{origin}: bundle format {str(fmt)[:20]!r} is newer than this pipper understands; upgrade poetry-pipper"
            )
        f = Fields(data, origin, "package.meta", META_REPAIR)
        name, version = f.name("name"), f.version("version")
        meta = cls(
            name=name, version=version, wheel_name=f.text("wheel_name", required=True, limit=MAX_FILENAME),
            sha256=f.sha256("sha256", required=False), size=f.integer("size"),
            requires_dist=f.strings("requires_dist", check=is_requirement, what="a PEP 508 requirement"),
            requires_python=f.optional_text("requires_python", limit=500), summary=f.text("summary", limit=2000),
            dependencies=f.strings("dependencies"), timestamp=f.text("timestamp", limit=64),
        )
        meta.check_wheel_name(origin)
        return meta

    def check_wheel_name(self, origin: str) -> None:
        """The wheel's file name: a wheel of this name and version, and nothing a path could be built from."""
        try:
            wheel, version, _build, _tags = parse_wheel_filename(self.wheel_name)
        except (InvalidWheelFilename, InvalidVersion):
            raise FormatError(f"{origin}: {self.wheel_name[:100]!r} is not a valid wheel file name") from None
        if wheel != self.project or version != Version(self.version):
            raise FormatError(f"{origin}: wheel {self.wheel_name[:100]!r} does not match {self.name} {self.version}")
        if file_kind(self.wheel_name, self.name, self.version) != "wheel":
            raise FormatError(f"{origin}: {self.wheel_name[:100]!r} is not a valid wheel file name")


@dataclass(frozen=True)
class WheelInfo(DistInfo):
    """A wheel file and what its ``METADATA`` says; ``built`` is its newest member's zip date."""

    built: str = ""


def inspect_wheel(path: Path, *, sha256: str | None = None) -> WheelInfo:
    """Read a wheel's core metadata (the bytes become the PEP 658 sidecar).

    ``sha256``: the file's hash, already verified by the caller (a bundle's reader checks it while
    extracting), so the wheel is not hashed a second time.
    """
    try:
        name, version, _build, _tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename:
        raise FormatError(f"{path.name!r} is not a valid wheel file name") from None
    try:
        with zipfile.ZipFile(path) as wheel:
            candidates = [
                n for n in wheel.namelist()
                if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            if len(candidates) != 1:
                raise FormatError(f"{path.name}: expected one .dist-info/METADATA, found {len(candidates)}")
            if wheel.getinfo(candidates[0]).file_size > MAX_META_SIZE:
                raise FormatError(f"{path.name}: METADATA is implausibly large")
            check_wheel_members(wheel, path.name)
            raw = wheel.read(candidates[0])
            check_wheel_tags(wheel, path.name)
            newest = max((info.date_time for info in wheel.infolist()), default=_ZIP_EPOCH)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"{path}: not a readable wheel ({exc})") from None
    # packaging checks each field when it is first read (validate=False defers, it does not skip).
    try:
        meta = Metadata.from_email(raw, validate=False)
        meta_name, meta_version = meta.name, meta.version
        requires_dist = [str(r) for r in meta.requires_dist or []]
        requires_python = str(meta.requires_python) if meta.requires_python else None
        summary = meta.summary or ""
    except (InvalidMetadata, ValueError, TypeError) as exc:
        raise FormatError(f"{path.name}: unreadable METADATA ({str(exc)[:200]})") from None
    if canonicalize_name(meta_name) != name or meta_version != version:
        raise FormatError(f"{path.name}: METADATA says {meta_name[:100]} {meta_version}, the file name disagrees")
    return WheelInfo(
        path=path,
        name=meta_name,
        version=str(meta_version),
        sha256=sha256 or sha256_file(path),
        size=path.stat().st_size,
        metadata=raw,
        requires_dist=requires_dist,
        requires_python=requires_python,
        summary=summary,
        built=datetime.datetime(*newest, tzinfo=datetime.UTC).isoformat(),
    )


def meta_for(wheel: WheelInfo, dependencies: Iterable[str] = ()) -> BundleMeta:
    return BundleMeta(
        name=wheel.name,
        version=wheel.version,
        wheel_name=wheel.path.name,
        sha256=wheel.sha256,
        size=wheel.size,
        requires_dist=wheel.requires_dist,
        requires_python=wheel.requires_python,
        summary=wheel.summary,
        dependencies=list(dependencies),
        timestamp=wheel.built,
    )


def meta_bytes(meta: BundleMeta) -> bytes:
    return json.dumps(meta.to_json(), sort_keys=True, indent=2).encode() + b"\n"


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.create_system = 3
    return info


def bundle_name(meta: BundleMeta) -> str:
    return f"{meta.project}-{meta.version}{BUNDLE_SUFFIX}"


def write_bundle(wheel_path: Path, meta: BundleMeta, out_dir: Path) -> Path:
    """Write ``<name>-<version>.pipper`` into ``out_dir`` atomically and reproducibly."""
    if out_dir.exists() and not out_dir.is_dir():
        raise PipperError(f"{out_dir} is a file, not a directory: write the bundle into a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PipperError(f"cannot create the directory {out_dir}: {exc.strerror}") from None
    target = out_dir / bundle_name(meta)
    fd, tmp_name = tempfile.mkstemp(prefix=".pipper-tmp-", dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w") as bundle:
            bundle.writestr(_zip_info(META_MEMBER), meta_bytes(meta))
            with bundle.open(_zip_info(WHEEL_MEMBER), "w", force_zip64=meta.size > 2**31) as dst, open(
                wheel_path, "rb"
            ) as src:
                shutil.copyfileobj(src, dst, _HASH_CHUNK)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read_bundle(path: Path, workdir: Path) -> tuple[BundleMeta, Path]:
    """Check a bundle and extract its wheel into ``workdir`` under the wheel's own name.

    Refuses anything but exactly the two members, symlinks, implausible compression
    ratios and a wheel whose sha256 differs from the metadata.
    """
    origin = path.name
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise PipperError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError):
        raise FormatError(f"{origin}: not a .pipper bundle (not a zip file, or truncated)") from None
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        if len(members) != len(archive.infolist()):
            raise FormatError(f"{origin}: not a .pipper bundle: a member name appears twice; refusing it")
        if set(members) != {META_MEMBER, WHEEL_MEMBER}:
            names = sorted(members)
            found = ", ".join(n[:100] for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "") \
                or "nothing"
            raise FormatError(
                f"{origin}: not a .pipper bundle: expected {META_MEMBER} and {WHEEL_MEMBER}, found {found}"
            )
        for info in members.values():
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise FormatError(f"{origin}: member {info.filename} is a symlink; refusing it")
            if info.file_size > 100 * max(info.compress_size, 1) and info.file_size > 10 * 1024 * 1024:
                raise FormatError(f"{origin}: member {info.filename} has a suspicious compression ratio")
        if members[META_MEMBER].file_size > MAX_META_SIZE:
            raise FormatError(f"{origin}: {META_MEMBER} is implausibly large")
        if members[WHEEL_MEMBER].file_size > MAX_WHEEL_SIZE:
            raise FormatError(f"{origin}: the wheel is larger than {MAX_WHEEL_SIZE} bytes")
        try:
            data = load_bounded(archive.read(META_MEMBER), max_bytes=MAX_META_SIZE)
        except Unreadable as exc:
            raise FormatError(f"{origin}: {META_MEMBER} {exc}") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
            raise FormatError(f"{origin}: {META_MEMBER} is unreadable (a truncated or damaged bundle)") from None
        legacy = isinstance(data, dict) and "bundle_format" not in data
        if legacy and isinstance(data, dict):
            data = {**data, "sha256": "", "size": 0}
        meta = BundleMeta.from_json(data, origin=origin)
        wheel_path = workdir / meta.wheel_name
        digest = hashlib.sha256()
        size = 0
        try:
            with archive.open(WHEEL_MEMBER) as src, open(wheel_path, "wb") as dst:
                while chunk := src.read(_HASH_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    if size > members[WHEEL_MEMBER].file_size:
                        raise FormatError(f"{origin}: the wheel is longer than its zip entry says")
                    dst.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            wheel_path.unlink(missing_ok=True)
            raise FormatError(f"{origin}: the wheel member is corrupt or truncated ({exc})") from None
    if legacy:
        # 0.x bundles record no hash or wheel metadata: take them from the wheel itself.
        wheel = inspect_wheel(wheel_path)
        return meta_for(wheel, meta.dependencies), wheel_path
    if digest.hexdigest() != meta.sha256 or size != meta.size:
        wheel_path.unlink(missing_ok=True)
        found, said = (
            (f"sha256 is {digest.hexdigest()[:16]}...", f"{meta.sha256[:16]}...") if digest.hexdigest() != meta.sha256
            else (f"size is {size} bytes", f"{meta.size}")
        )
        raise IntegrityError(
            f"{origin}: the wheel's {found}, the metadata says {said}: the bundle is corrupt or was tampered with"
        )
    return meta, wheel_path


def read_pipper_json(project: Path) -> list[str]:
    """The ``dependencies`` list of a project's ``pipper.json`` (the 0.x private-dependency list)."""
    config = project / "pipper.json"
    if not config.exists():
        return []
    try:
        data = load_bounded(config.read_bytes(), max_bytes=MAX_META_SIZE)
        deps = data.get("dependencies", []) if isinstance(data, dict) else None
    except Unreadable as exc:
        raise PipperError(f"{config} {exc}; fix or remove it") from None
    except OSError as exc:
        raise PipperError(f"{config}: cannot read it ({exc.strerror}); fix or remove it") from None
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise PipperError(f"{config}: 'dependencies' must be a list of strings like \"name:1.2.*\"")
    fields = Fields(data, str(config), "", "fix or remove it")
    return fields.strings("dependencies")


_GENERIC_PIP_ERRORS = ("subprocess-exited-with-error", "metadata-generation-failed", "failed-wheel-build")


def _build_failure_reason(output: str) -> str:
    """The most specific error line pip or the backend printed."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [
        line for line in lines
        if line.lower().startswith(("error:", "modulenotfounderror", "backendunavailable"))
        and not any(g in line for g in _GENERIC_PIP_ERRORS)
    ]
    if errors:
        return errors[0]
    return lines[-1] if lines else "no output"


def build_wheel(project: Path, out_dir: Path, *, isolation: bool = True, verbose: bool = False) -> Path:
    """Build one wheel from a PEP 517 project with the running interpreter.

    The project is copied into a fresh temporary directory first, so a stale wheel in
    ``dist/`` is never picked up and no ``build/`` or ``*.egg-info`` litter reaches the
    source tree. pip does the PEP 517 work (it is present wherever pipper installs).
    """
    if not (project / "pyproject.toml").exists() and not (project / "setup.py").exists():
        raise PipperError(f"{project}: no pyproject.toml or setup.py; pass a Python project directory or a .whl")
    with tempfile.TemporaryDirectory(prefix="pipper-build-") as tmp:
        source = Path(tmp, "src")
        shutil.copytree(project, source, ignore=_IGNORE, symlinks=True)
        wheels = Path(tmp, "wheels")
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--ignore-requires-python",
                   "--wheel-dir", str(wheels)]
        if not isolation:
            command.append("--no-build-isolation")
        if not verbose:
            command.append("-q")
        command.append(str(source))
        result = subprocess.run(command, capture_output=not verbose, text=True, check=False, env=build_environment(project))
        if result.returncode != 0:
            reason = _build_failure_reason(f"{result.stdout}\n{result.stderr}")
            raise PipperError(f"building a wheel from {project} failed: {reason} (run with -v for pip's output)")
        built = sorted(wheels.glob("*.whl"))
        if len(built) != 1:
            raise PipperError(f"building {project} produced {len(built)} wheels, expected one")
        out_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(built[0], out_dir / built[0].name))


def make_bundle(source: Path, out_dir: Path, *, isolation: bool = True, verbose: bool = False) -> tuple[Path, BundleMeta]:
    """Bundle a project directory (built with pip) or an existing wheel file."""
    with tempfile.TemporaryDirectory(prefix="pipper-bundle-") as tmp:
        dependencies: list[str] = []
        if source.is_file() and source.suffix == ".whl":
            wheel_path = source
        elif source.is_dir():
            dependencies = read_pipper_json(source)
            wheel_path = build_wheel(source, Path(tmp), isolation=isolation, verbose=verbose)
        else:
            raise PipperError(f"{source}: not a project directory or a .whl file")
        meta = meta_for(inspect_wheel(wheel_path), dependencies)
        return write_bundle(wheel_path, meta, out_dir), meta


