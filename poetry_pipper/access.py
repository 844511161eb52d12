"""Where the repository is and who we are: the one implementation of pipper's resolution order.

Both front doors call :func:`resolve_access`: the ``pipper`` CLI with ``-b``/``-r``/``-p``/``-c``/
``--endpoint-url``/``--region``, the Poetry plugin with the same options plus a
:class:`SourceRef` (an ``[[tool.poetry.source]]`` with an ``s3://`` or ``file://`` URL).
docs/credentials.md describes the order; :data:`ORDER` is its text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .config import Config, RepositoryConfig, load
from .credentials import Credentials, default_chain, from_environment_keys, parse_keys
from .errors import PipperError
from .location import Location, parse_location

ORDER = (
    "-c/--credentials",
    "-r/--repository (its stored keys or profile)",
    "-p/--profile",
    "a Poetry source: the pipper repository named like it (its stored keys or profile),"
    " then Poetry's http-basic.<source>",
    "$PIPPER_AWS_ACCESS_KEY_ID, $PIPPER_AWS_SECRET_ACCESS_KEY, $PIPPER_AWS_SESSION_TOKEN",
    "$AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY, $AWS_SESSION_TOKEN",
    "the default repository (its stored keys or profile; not when -r or a Poetry source names one)",
    "the AWS default chain (AWS_PROFILE, ~/.aws files, SSO, container and instance roles)",
)

NO_REPOSITORY = (
    "no repository given: pass -b s3://bucket/prefix (or a bucket name, or a directory) or -r NAME,"
    " or set a default with `pipper repository add NAME -b ... -d`"
)


@dataclass(frozen=True)
class SourceRef:
    """A Poetry source backed by a pipper repository: its name, URL and Poetry's stored identity."""

    name: str
    url: str
    #: Poetry's ``http-basic.<name>`` as keys, read only when the order gets that far.
    http_basic: Callable[[], Credentials | None] = lambda: None


@dataclass(frozen=True)
class Access:
    """Where the repository is, who we are, and why."""

    location: Location
    credentials: Credentials
    #: Where the location came from: "-b/--bucket", "repository 'team'", "Poetry source 'private'"...
    location_source: str


@dataclass(frozen=True)
class Options:
    """The repository options of a command, as given (None: not given)."""

    bucket: str | None = None
    repository: str | None = None
    profile: str | None = None
    keys: Sequence[str] | None = None
    endpoint_url: str | None = None
    region: str | None = None


def resolve_access(
    options: Options,
    *,
    source: SourceRef | None = None,
    env: Mapping[str, str] | None = None,
    config: Config | Callable[[], Config] | None = None,
) -> Access:
    """Resolve the options (and a Poetry source) against the environment and the config file.

    Location: ``-b`` if given, else the Poetry source's URL, else the repository named by ``-r``,
    else the default repository. Endpoint and region: the options, else the named repository's
    (for a source: the pipper repository named like it), else ``$AWS_ENDPOINT_URL_S3`` /
    ``$AWS_ENDPOINT_URL``. Credentials: the first of :data:`ORDER` that applies.

    ``config`` is a :class:`~poetry_pipper.config.Config` or a loader called only when needed (so
    ``-b`` with ``-c`` never reads the config file); by default the user's file. ``env`` defaults to
    ``os.environ``. Nothing here touches the network or Poetry.
    """
    env = os.environ if env is None else env
    settings = _Settings(env, config)
    named = settings.get(options.repository) if options.repository else None
    stored = settings.optional(source.name) if source is not None else None
    location, origin = _where(options, named or stored, source, settings)
    credentials = _who(options, named, stored, source, env, settings)
    return Access(location, credentials, origin)


class _Settings:
    """The config file, read once and only if the order needs it."""

    def __init__(self, env: Mapping[str, str], config: Config | Callable[[], Config] | None) -> None:
        self.env = env
        self._given = config
        self._loaded: Config | None = None

    def config(self) -> Config:
        if self._loaded is None:
            given = self._given
            self._loaded = load(self.env) if given is None else given() if callable(given) else given
        return self._loaded

    def get(self, name: str) -> RepositoryConfig:
        return self.config().get(name)

    def optional(self, name: str) -> RepositoryConfig | None:
        return self.config().repositories.get(name)

    def endpoint(self) -> str | None:
        return self.env.get("AWS_ENDPOINT_URL_S3") or self.env.get("AWS_ENDPOINT_URL") or None


def _where(
    options: Options, named: RepositoryConfig | None, source: SourceRef | None, settings: _Settings
) -> tuple[Location, str]:
    endpoint = options.endpoint_url or (named.endpoint_url if named else None) or settings.endpoint()
    region = options.region or (named.region if named else None)
    if options.bucket:
        return parse_location(options.bucket, endpoint_url=endpoint, region=region), "-b/--bucket"
    if source is not None:
        return parse_location(source.url, endpoint_url=endpoint, region=region), f"Poetry source {source.name!r}"
    if named is not None:
        return named.location(endpoint_url=endpoint, region=region), f"repository {named.name!r}"
    default = settings.config().default_repository
    if default is None:
        raise PipperError(NO_REPOSITORY)
    endpoint = options.endpoint_url or default.endpoint_url or settings.endpoint()
    return default.location(endpoint_url=endpoint, region=region), f"default repository {default.name!r}"


def _who(
    options: Options,
    named: RepositoryConfig | None,
    stored: RepositoryConfig | None,
    source: SourceRef | None,
    env: Mapping[str, str],
    settings: _Settings,
) -> Credentials:
    """The first identity of :data:`ORDER` that applies."""
    if options.keys:
        return parse_keys(options.keys)
    if named is not None and (found := named.credentials(f"repository {named.name!r}")) is not None:
        return found
    if options.profile:
        return Credentials(profile=options.profile, source="-p/--profile")
    if source is not None:
        if stored is not None and (found := stored.credentials(f"pipper repository {stored.name!r}")) is not None:
            return found
        if (found := source.http_basic()) is not None:
            return found
    if (found := from_environment_keys(env)) is not None:
        return found
    if named is None and source is None:
        default = settings.config().default_repository
        if default is not None and (found := default.credentials(f"default repository {default.name!r}")) is not None:
            return found
    return default_chain(env)
