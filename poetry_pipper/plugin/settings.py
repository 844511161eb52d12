"""Where a Poetry source's S3 settings and credentials come from.

Poetry rejects extra keys in ``[[tool.poetry.source]]``, so per-source settings live
elsewhere. For a source named ``private`` with ``url = "s3://bucket/prefix"``, the order is
pipper's own (:func:`poetry_pipper.access.resolve_access`, docs/credentials.md) with the source
in the place of ``-b``:

* **Endpoint and region**: the pipper named repository ``private`` (``pipper repository add
  private --endpoint-url ... --region ...``) if there is one, else ``AWS_ENDPOINT_URL`` /
  ``AWS_REGION``. The bucket and prefix always come from the source's ``url``.
* **Credentials**, the first that applies wins: ``-c``/``-p`` (``poetry pipper`` commands only);
  the keys or profile stored in the pipper named repository ``private``; Poetry's
  ``http-basic.private`` (``poetry config http-basic.private KEY SECRET``, or
  ``POETRY_HTTP_BASIC_PRIVATE_USERNAME``/``_PASSWORD``) used as access key id and secret;
  ``PIPPER_AWS_*`` then ``AWS_*`` keys; the AWS default chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from poetry.config.config import Config as PoetryConfig

    from ..access import Access, Options, SourceRef
    from ..credentials import Credentials
    from ..repository import Repository


#: The URL schemes of the sources this plugin serves (Poetry's own sources are every other URL).
SCHEMES = ("s3://", "file://")


def pipper_sources(sources: Any) -> dict[str, str]:
    """name -> url (without a trailing "/") of the s3:// and file:// entries of a
    ``[[tool.poetry.source]]`` list, in their order; entries of any other shape are left to Poetry."""
    found: dict[str, str] = {}
    for source in sources if isinstance(sources, list) else ():
        if isinstance(source, dict) and isinstance(source.get("name"), str) and isinstance(source.get("url"), str) \
                and source["url"].startswith(SCHEMES):
            found[source["name"]] = source["url"].rstrip("/")
    return found


def http_basic(name: str, config: PoetryConfig) -> Credentials | None:
    from poetry.utils.password_manager import PasswordManager

    from ..credentials import Credentials

    auth = PasswordManager(config).get_http_auth(name)
    if auth.username and auth.password:
        return Credentials(auth.username, auth.password, source=f"poetry http-basic.{name}")
    return None


def source_ref(name: str, url: str, config: PoetryConfig) -> SourceRef:
    from ..access import SourceRef

    return SourceRef(name, url, lambda: http_basic(name, config))


def source_access(name: str, url: str, config: PoetryConfig, options: Options | None = None) -> Access:
    """The location and identity of a source, with a ``poetry pipper`` command's options if any."""
    from ..access import Options, resolve_access

    return resolve_access(options or Options(), source=source_ref(name, url, config))


def open_source(name: str, url: str, config: PoetryConfig) -> Repository:
    from ..repository import open_repository

    access = source_access(name, url, config)
    return open_repository(access.location, access.credentials)


def root_url(url: str) -> str:
    """The URL every object URL of this source starts with (what Storage.url_for gives), without I/O."""
    from ..location import parse_location

    location = parse_location(url)
    return location.path.resolve().as_uri() if location.path is not None else location.url.rstrip("/")
