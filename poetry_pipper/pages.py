"""The PEP 503 simple pages, derived from the JSON documents of :mod:`.index`.

Every attribute value and every piece of text is HTML-escaped.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .index import PackageIndex

_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.1">
    <title>{title}</title>
  </head>
  <body>
    <h1>{title}</h1>
{links}
  </body>
</html>
"""


def render_simple_root(packages: dict[str, str]) -> bytes:
    links = "\n".join(
        f'    <a href="{html.escape(name)}/">{html.escape(packages[name])}</a><br>'
        for name in sorted(packages)
    )
    return _PAGE.format(title="Simple index", links=links).encode()


def render_simple_page(index: PackageIndex) -> bytes:
    """The PEP 503 page, with PEP 592 yanks, PEP 658 metadata and Requires-Python."""
    links = []
    for version in index.versions():
        release = index.releases[str(version)]
        href = f"../../{release.key}#sha256={release.meta.sha256}"
        attrs = [f'href="{html.escape(href)}"']
        if release.meta.requires_python:
            attrs.append(f'data-requires-python="{html.escape(release.meta.requires_python)}"')
        if release.metadata_sha256:
            attrs.append(f'data-dist-info-metadata="sha256={release.metadata_sha256}"')
            attrs.append(f'data-core-metadata="sha256={release.metadata_sha256}"')
        if release.yanked:
            attrs.append(f'data-yanked="{html.escape(release.yanked_reason)}"')
        links.append(f"    <a {' '.join(attrs)}>{html.escape(release.meta.wheel_name)}</a><br>")
    return _PAGE.format(title=f"Links for {html.escape(index.display_name)}", links="\n".join(links)).encode()
