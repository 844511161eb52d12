"""The simple pages, derived from the JSON documents of :mod:`.index`: PEP 503 HTML and PEP 691 JSON.

Every attribute value and every piece of text of the HTML pages is HTML-escaped; the JSON pages
are written by :func:`json.dumps`. Both list the same files with the same facts: sha256,
Requires-Python, PEP 658/714 core metadata, PEP 592 yanks; the JSON pages add PEP 700's
``versions``, ``size`` and ``upload-time`` (which uv's ``--exclude-newer`` and Poetry's
``solver.min-release-age`` need). File URLs are relative to the page's folder ``simple/<name>/``,
which is the base of both ``simple/<name>/index.html`` and ``simple/<name>/``.
"""

from __future__ import annotations

import datetime
import html
import json
from typing import TYPE_CHECKING, Any

from .schema import parse_time

if TYPE_CHECKING:
    from .index import DistFile, PackageIndex

#: PEP 700 (``versions``, ``size``, ``upload-time``) is API version 1.1.
API_VERSION = "1.1"

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


def _dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def pep700_time(text: str) -> str | None:
    """An RFC 3339 time in PEP 700's form ``yyyy-mm-ddThh:mm:ss.ffffffZ`` (UTC); None if there is none."""
    when = parse_time(text) if text else None
    if when is None:
        return None
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def file_entry(dist: DistFile) -> dict[str, Any]:
    """One file of a PEP 691 project page."""
    entry: dict[str, Any] = {
        "filename": dist.filename,
        "url": f"../../{dist.key}",
        "hashes": {"sha256": dist.sha256},
        "size": dist.size,
        "yanked": dist.yank_value,
    }
    if dist.requires_python:
        entry["requires-python"] = dist.requires_python
    metadata: dict[str, str] | bool = {"sha256": dist.metadata_sha256} if dist.metadata_sha256 else False
    entry["core-metadata"] = entry["dist-info-metadata"] = metadata  # PEP 714, and its older name
    uploaded = pep700_time(dist.upload_time)
    if uploaded:
        entry["upload-time"] = uploaded
    return entry


def render_simple_json(index: PackageIndex) -> bytes:
    """The PEP 691 project page (API 1.1): every file of every version, and the versions (PEP 700)."""
    versions = index.versions()
    files = [file_entry(dist) for version in versions for dist in index.releases[str(version)].ordered()]
    return _dumps({
        "meta": {"api-version": API_VERSION},
        "name": index.name,
        "files": files,
        "versions": [str(v) for v in versions],
    })


def render_simple_root_json(packages: dict[str, str]) -> bytes:
    """The PEP 691 root page: every project by its display name."""
    return _dumps({"meta": {"api-version": API_VERSION}, "projects": [{"name": packages[n]} for n in sorted(packages)]})
