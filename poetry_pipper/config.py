"""The user's pipper configuration: named repositories and the default one.

The file is ``config.json`` in the config directory:

* ``$PIPPER_CONFIG_DIR`` if set, else
* ``$XDG_CONFIG_HOME/poetry-pipper``, else ``~/.config/poetry-pipper`` (``%APPDATA%\\poetry-pipper``
  on Windows).

It is written atomically (a temporary file in the same directory, then a rename) with mode 0600,
never into a world-writable directory, and under a lock so two concurrent edits do not lose each
other. A file that cannot be parsed is an error, never an empty configuration. When no new file
exists, the original pipper's ``~/.pipper/repositories.json`` is read instead (and the first save
writes the new file; the old one is left alone).

Secrets live in :class:`RepositoryConfig` fields with ``repr=False``; :meth:`RepositoryConfig.public`
is the masked view every command prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import PipperError

if TYPE_CHECKING:
    from .credentials import Credentials
    from .location import Location

FILE_NAME = "config.json"
FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_FIELDS = ("bucket", "endpoint_url", "region", "profile", "access_key_id", "secret_access_key", "session_token")
SECRET_FIELDS = ("secret_access_key", "session_token")
MAX_CONFIG = 1024 * 1024
MAX_FIELD = 16 * 1024
MAX_REPOSITORIES = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    explicit = env.get("PIPPER_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg).expanduser() / "poetry-pipper"
    if sys.platform == "win32" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "poetry-pipper"
    return Path.home() / ".config" / "poetry-pipper"


def config_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / FILE_NAME


def legacy_path() -> Path:
    """The original pipper 0.x file, read when no new configuration exists."""
    return Path.home() / ".pipper" / "repositories.json"


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise PipperError(
            f"invalid repository name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class RepositoryConfig:
    """One named repository: where it is and (optionally) which identity reaches it."""

    name: str
    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    def location(self, *, endpoint_url: str | None = None, region: str | None = None) -> Location:
        """The repository's location; explicit ``endpoint_url``/``region`` override the stored ones."""
        from .location import parse_location

        return parse_location(
            self.bucket, endpoint_url=endpoint_url or self.endpoint_url, region=region or self.region
        )

    def credentials(self, source: str) -> Credentials | None:
        """The stored identity (keys win over a profile), or None when none is stored."""
        from .credentials import Credentials

        if self.access_key_id:
            return Credentials(self.access_key_id, self.secret_access_key, self.session_token, source=source)
        if self.profile:
            return Credentials(profile=self.profile, source=source)
        return None

    @property
    def secrets(self) -> list[str]:
        return [v for v in (self.access_key_id, self.secret_access_key, self.session_token) if v]

    def public(self, *, default: bool = False) -> dict[str, Any]:
        """What may be shown: the key id masked, secrets replaced by ``****``."""
        from .credentials import mask

        return {
            "name": self.name,
            "bucket": self.bucket,
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "profile": self.profile,
            "access_key_id": mask(self.access_key_id) if self.access_key_id else None,
            "secret_access_key": "****" if self.secret_access_key else None,
            "session_token": "****" if self.session_token else None,
            "default": default,
        }

    def describe_identity(self) -> str:
        from .credentials import mask

        if self.access_key_id:
            return f"keys {mask(self.access_key_id)}" + (" + session token" if self.session_token else "")
        if self.profile:
            return f"profile {self.profile!r}"
        return "no stored credentials"

    def to_json(self) -> dict[str, str]:
        return {k: v for k in _FIELDS if (v := getattr(self, k))}

    def check(self) -> RepositoryConfig:
        """Refuse what reading the file back would refuse (before it is saved); values are never quoted."""
        for key in _FIELDS:
            value = getattr(self, key)
            if value and (len(value) > MAX_FIELD or _CONTROL.search(value)):
                raise PipperError(f"repository {self.name!r}: {key} is over {MAX_FIELD} characters or holds control characters")
        self.location()  # the location, the endpoint and the region
        return self


@dataclass
class Config:
    """All named repositories, the default one, and where they were read from."""

    repositories: dict[str, RepositoryConfig] = field(default_factory=dict)
    default: str | None = None
    path: Path | None = None
    #: True when read from the original pipper's ``~/.pipper/repositories.json``.
    legacy: bool = False

    def get(self, name: str) -> RepositoryConfig:
        repo = self.repositories.get(name)
        if repo is None:
            known = ", ".join(sorted(self.repositories)) or "none configured"
            raise PipperError(
                f"unknown repository {name!r} (known: {known}): add it with"
                f" `pipper repository add {name} -b s3://bucket/prefix`, or see `pipper repository list`"
            )
        return repo

    @property
    def default_repository(self) -> RepositoryConfig | None:
        return self.repositories.get(self.default) if self.default else None

    @property
    def secrets(self) -> list[str]:
        return [s for repo in self.repositories.values() for s in repo.secrets]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "default": self.default,
            "repositories": {name: repo.to_json() for name, repo in sorted(self.repositories.items())},
        }


# -- reading ------------------------------------------------------------------------------


def _corrupt(path: Path, why: str) -> PipperError:
    return PipperError(f"corrupt config file {path}: {why}; fix it or move it away (secrets in it are not shown)")


def _text_field(path: Path, name: str, entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _corrupt(path, f"repository {name!r}: {key!r} must be a string")
    if len(value) > MAX_FIELD or _CONTROL.search(value):
        # Never quoted: it may be a secret.
        raise _corrupt(path, f"repository {name!r}: {key!r} is over {MAX_FIELD} characters or holds control characters")
    return value


def _check_place(path: Path, name: str, values: Mapping[str, str | None]) -> None:
    """The endpoint and the region, checked now: a bad one is a corrupt file, not a failure later."""
    from .location import check_endpoint, check_region

    try:
        if values.get("endpoint_url"):
            check_endpoint(str(values["endpoint_url"]), "endpoint_url")
        if values.get("region"):
            check_region(str(values["region"]), "region")
    except PipperError as exc:
        raise _corrupt(path, f"repository {name!r}: {exc}") from None


def _parse(path: Path, text: str, *, legacy: bool) -> Config:
    from .schema import Unreadable, load_bounded

    if not text.strip():
        raise _corrupt(path, "the file is empty")
    try:
        data = load_bounded(text, max_bytes=MAX_CONFIG)
    except Unreadable as exc:
        # The reason and a position only: the message never quotes the file's content.
        raise _corrupt(path, str(exc).removeprefix("is ")) from None
    if not isinstance(data, dict):
        raise _corrupt(path, "the top level must be a JSON object")
    version = data.get("version", FORMAT_VERSION)
    if not legacy and (not isinstance(version, int) or version > FORMAT_VERSION):
        raise PipperError(f"config file {path} has format version {version!r}, newer than this pipper: upgrade poetry-pipper")
    entries = data.get("repositories", {})
    if not isinstance(entries, dict):
        raise _corrupt(path, "'repositories' must be an object")
    repos: dict[str, RepositoryConfig] = {}
    if len(entries) > MAX_REPOSITORIES:
        raise _corrupt(path, f"more than {MAX_REPOSITORIES} repositories")
    for name, entry in entries.items():
        if not _NAME.match(name):
            raise _corrupt(path, f"invalid repository name {name[:80]!r}")
        if not isinstance(entry, dict):
            raise _corrupt(path, f"repository {name!r} must be an object")
        values = {key: _text_field(path, name, entry, key) for key in _FIELDS}
        _check_place(path, name, values)
        if legacy:
            values["bucket"] = _legacy_url(path, name, entry)
        if not values["bucket"]:
            raise _corrupt(path, f"repository {name!r} has no 'bucket'")
        if bool(values["access_key_id"]) != bool(values["secret_access_key"]):
            raise _corrupt(path, f"repository {name!r} needs both 'access_key_id' and 'secret_access_key'")
        repos[name] = RepositoryConfig(name=name, **values)  # type: ignore[arg-type]
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise _corrupt(path, "'default' must be a repository name or null")
    if default and default not in repos:
        raise _corrupt(path, f"the default repository {default[:80]!r} is not defined")
    return Config(repos, default or None, path, legacy)


def _legacy_url(path: Path, name: str, entry: Mapping[str, Any]) -> str:
    """pipper 0.x kept a bare bucket name and a ``root_prefix`` (default ``pipper``)."""
    bucket = _text_field(path, name, entry, "bucket")
    if not bucket:
        raise _corrupt(path, f"repository {name!r} has no 'bucket'")
    if "://" in bucket:
        return bucket
    prefix = entry.get("root_prefix", "pipper")
    if prefix is not None and not isinstance(prefix, str):
        raise _corrupt(path, f"repository {name!r}: 'root_prefix' must be a string")
    prefix = (prefix or "").strip("/")
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise _corrupt(path, "not UTF-8 text") from None
    except OSError as exc:
        raise PipperError(f"cannot read config file {path}: {exc.strerror}; check its permissions") from None


def load(env: Mapping[str, str] | None = None) -> Config:
    """The configuration; an empty one only when no file exists at all."""
    path = config_path(env)
    text = _read(path)
    if text is not None:
        return _parse(path, text, legacy=False)
    old = legacy_path()
    text = _read(old)
    if text is not None:
        config = _parse(old, text, legacy=True)
        config.path = path  # saving writes the new file
        config.legacy = True
        return config
    return Config(path=path)


def load_legacy() -> Config | None:
    """Only the original pipper's ``~/.pipper/repositories.json`` (``pipper repository import``); None if absent."""
    path = legacy_path()
    text = _read(path)
    return _parse(path, text, legacy=True) if text is not None else None


# -- writing ------------------------------------------------------------------------------


def _check_safe_directory(directory: Path) -> None:
    """Refuse a world-writable directory, or one inside a world-writable, non-sticky one."""
    target = directory.resolve()
    for level, current in enumerate([target, *target.parents]):
        try:
            mode = current.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & stat.S_IWOTH:
            continue
        if level == 0 or not mode & stat.S_ISVTX:
            raise PipperError(
                f"refusing to save the config in {directory}: {current} is writable by every user;"
                " choose a private directory (PIPPER_CONFIG_DIR or XDG_CONFIG_HOME)"
            )


def _prepare_directory(directory: Path) -> None:
    _check_safe_directory(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise PipperError(f"cannot create config directory {directory}: {exc.strerror}") from None
    _check_safe_directory(directory)


def save(config: Config, env: Mapping[str, str] | None = None) -> Path:
    """Write atomically with mode 0600 and return the path."""
    path = config.path or config_path(env)
    _prepare_directory(path.parent)
    data = (json.dumps(config.to_json(), indent=2, sort_keys=True) + "\n").encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            if hasattr(os, "fchmod"):
                os.fchmod(out.fileno(), 0o600)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise PipperError(f"cannot write config file {path}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    config.path = path
    config.legacy = False
    return path


@contextlib.contextmanager
def edit(env: Mapping[str, str] | None = None) -> Iterator[Config]:
    """Load, let the caller change, save; serialized against other pipper processes."""
    directory = config_dir(env)
    _prepare_directory(directory)
    with _locked(directory / f".{FILE_NAME}.lock"):
        config = load(env)
        yield config
        save(config, env)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock, the rename is still atomic
        yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def updated(repo: RepositoryConfig, **changes: str | None) -> RepositoryConfig:
    """``repo`` with the given fields replaced (``None`` values are left as they are, ``""`` clears)."""
    given = {k: (v or None) for k, v in changes.items() if v is not None}
    return replace(repo, **given)  # type: ignore[arg-type]


# -- importing the original pipper's file ---------------------------------------------------


@dataclass
class Imported:
    """What ``pipper repository import`` did."""

    source: Path
    config: Config
    imported: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # a different repository of that name exists here
    left: list[str] = field(default_factory=list)  # in the 0.x file, not imported (one NAME was asked for)
    permissions_fixed: str | None = None  # "0644 -> 0600"
    warning: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"source": str(self.source), "config": str(self.config.path), "default": self.config.default,
                "source_permissions_fixed": self.permissions_fixed, "imported": self.imported,
                "unchanged": self.unchanged, "kept": self.kept}


def import_legacy(only: str | None = None, *, loaded: list[Config] | None = None) -> Imported:
    """Copy the repositories of ``~/.pipper/repositories.json`` (all, or ``only``) into the config file.

    A name that exists here with other settings is kept as it is. The 0.x file, which pipper 0.x
    wrote readable by every user, is made 0600 (pipper 0.x still reads it). ``loaded`` receives
    each configuration read, so a caller can redact its secrets from any error.
    """
    old = load_legacy()
    source = legacy_path()
    if old is None:
        raise PipperError(f"no pipper 0.x configuration at {source}: nothing to import")
    if loaded is not None:
        loaded.append(old)
    if only is not None and only not in old.repositories:
        known = ", ".join(sorted(old.repositories)) or "none"
        raise PipperError(f"no repository {only!r} in {source} (it has: {known})")
    with edit() as config:
        if loaded is not None:
            loaded.append(config)
        result = Imported(source, config)
        _merge_legacy(config, old, only, result)
    result.left = sorted(set(old.repositories) - set(config.repositories))
    result.permissions_fixed, result.warning = _make_private(source)
    return result


def _merge_legacy(config: Config, old: Config, only: str | None, result: Imported) -> None:
    fresh = config.legacy  # no new file yet: everything read so far came from the old one
    wanted = {n: r for n, r in old.repositories.items() if only is None or n == only}
    for name, repo in sorted(wanted.items()):
        current = config.repositories.get(name)
        if current is None or (fresh and current == repo):
            config.repositories[name] = repo
            result.imported.append(name)
        elif current == repo:
            result.unchanged.append(name)
        else:
            result.kept.append(name)
    if config.default is None and old.default in result.imported:
        config.default = old.default
    if fresh and only is not None:  # importing one: the others were only read from the old file
        config.repositories = {n: r for n, r in config.repositories.items() if n == only}
        config.default = only if old.default == only else None


def _make_private(path: Path) -> tuple[str | None, str | None]:
    """Make a file 0600: ("0644 -> 0600", None), (None, None) if it was, or (None, warning)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return None, None
    try:
        os.chmod(path, 0o600)
    except OSError as exc:
        return None, f"could not make {path} private ({exc.strerror}): chmod 600 it"
    return f"{mode:04o} -> 0600", None
