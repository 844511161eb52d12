"""Where a Poetry source's S3 settings and credentials come from.

Poetry rejects extra keys in ``[[tool.poetry.source]]``, so per-source settings live
elsewhere. In order, the first that applies wins:

1. a pipper named repository with the same name as the source (``pipper repository add``):
   its endpoint, region, profile or keys;
2. Poetry's ``http-basic.<source>`` credentials (``poetry config http-basic.<source> KEY SECRET``
   or ``POETRY_HTTP_BASIC_<SOURCE>_USERNAME``/``_PASSWORD``), used as access key id and secret;
3. the standard AWS chain (``AWS_*`` variables, ``AWS_PROFILE``, SSO, instance roles), with
   ``AWS_ENDPOINT_URL`` for S3-compatible servers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poetry.config.config import Config

    from ..credentials import Credentials
    from ..repository import Repository


def http_basic(name: str, config: Config) -> Credentials | None:
    from poetry.utils.password_manager import PasswordManager

    from ..credentials import Credentials

    auth = PasswordManager(config).get_http_auth(name)
    if auth.username and auth.password:
        return Credentials(auth.username, auth.password, source=f"poetry http-basic.{name}")
    return None


def open_source(name: str, url: str, config: Config) -> Repository:
    from ..credentials import from_environment
    from ..location import parse_location
    from ..repository import Repository
    from ..storage import open_storage
    from .transport import register_root

    location = parse_location(url)
    credentials = None
    if not location.is_local:
        credentials = http_basic(name, config) or from_environment()
    repository = Repository(open_storage(location, credentials))
    register_root(repository.storage.url_for("").rstrip("/"), repository)
    return repository
