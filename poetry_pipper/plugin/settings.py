"""Where a Poetry source's S3 settings and credentials come from.

Poetry rejects extra keys in ``[[tool.poetry.source]]``, so per-source settings live
elsewhere. For a source named ``private`` with ``url = "s3://bucket/prefix"``:

* **Endpoint and region**: the pipper named repository ``private`` (``pipper repository add
  private --endpoint-url ... --region ...``) if there is one, else ``AWS_ENDPOINT_URL`` /
  ``AWS_REGION``. The bucket and prefix always come from the source's ``url``.
* **Credentials**, the first that applies wins:
  1. the keys or profile stored in the pipper named repository ``private``;
  2. Poetry's ``http-basic.private`` (``poetry config http-basic.private KEY SECRET``, or
     ``POETRY_HTTP_BASIC_PRIVATE_USERNAME``/``_PASSWORD``), used as access key id and secret;
  3. ``PIPPER_AWS_*`` then ``AWS_*`` keys, then the AWS default chain (``AWS_PROFILE``, SSO,
     web identity, container and instance roles).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poetry.config.config import Config as PoetryConfig

    from ..credentials import Credentials
    from ..location import Location
    from ..repository import Repository


def http_basic(name: str, config: PoetryConfig) -> Credentials | None:
    from poetry.utils.password_manager import PasswordManager

    from ..credentials import Credentials

    auth = PasswordManager(config).get_http_auth(name)
    if auth.username and auth.password:
        return Credentials(auth.username, auth.password, source=f"poetry http-basic.{name}")
    return None


def source_settings(name: str, url: str, config: PoetryConfig) -> tuple[Location, Credentials | None]:
    from ..config import load
    from ..credentials import from_environment
    from ..location import parse_location

    named = load().repositories.get(name)
    location = parse_location(url, endpoint_url=named.endpoint_url if named else None,
                              region=named.region if named else None)
    if location.is_local:
        return location, None
    credentials = (
        (named.credentials(f"pipper repository {name!r}") if named else None)
        or http_basic(name, config)
        or from_environment()
    )
    return location, credentials


def open_source(name: str, url: str, config: PoetryConfig) -> Repository:
    from ..repository import Repository
    from ..storage import open_storage

    location, credentials = source_settings(name, url, config)
    return Repository(open_storage(location, credentials))


def root_url(url: str) -> str:
    """The URL every object URL of this source starts with (what Storage.url_for gives), without I/O."""
    from ..location import parse_location

    location = parse_location(url)
    return location.path.resolve().as_uri() if location.path is not None else location.url.rstrip("/")
