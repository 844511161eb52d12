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
    """The PEP 503 page: every file of every version, with PEP 592 yanks, PEP 658/714 metadata and
    Requires-Python. Every attribute value and every text is escaped."""
    links = []
    for version in index.versions():
        for dist in index.releases[str(version)].ordered():
            href = f"../../{dist.key}#sha256={dist.sha256}"
            attrs = [f'href="{html.escape(href)}"']
            if dist.requires_python:
                attrs.append(f'data-requires-python="{html.escape(dist.requires_python)}"')
            if dist.metadata_sha256:
                attrs.append(f'data-dist-info-metadata="sha256={html.escape(dist.metadata_sha256)}"')
                attrs.append(f'data-core-metadata="sha256={html.escape(dist.metadata_sha256)}"')
            if dist.yanked:
                attrs.append(f'data-yanked="{html.escape(dist.yanked_reason)}"')
            links.append(f"    <a {' '.join(attrs)}>{html.escape(dist.filename)}</a><br>")
    return _PAGE.format(title=f"Links for {html.escape(index.display_name)}", links="\n".join(links)).encode()
