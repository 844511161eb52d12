"""Object keys of the on-bucket layout (docs/FORMAT.md), relative to the repository root.

Layout::

    packages/index.json                                    root list of all packages
    packages/<name>/index.json                             per-package index: everything a resolver needs, one GET
    packages/<name>/releases/<version>/<filename>.json     file record: the commit point of one file
    packages/<name>/releases/<version>.json                release record of format 1 (one wheel), still read
    packages/<name>/files/<sha256>/<filename>              the wheel or sdist, under its own file name
    packages/<name>/files/<sha256>/<filename>.metadata     PEP 658 core-metadata sidecar
    simple/index.html                                      PEP 503 root page (HTML)
    simple/<name>/index.html                               PEP 503 project page (HTML)
    simple/                                                PEP 691 root page (JSON; S3 only)
    simple/<name>/                                         PEP 691 project page (JSON; S3 only)
    pending/<name>.json                                    a prune's unfinished changes to a package (pending.py)

``<name>`` is the PEP 503 normalized project name, ``<version>`` the normalized PEP 440
version. Files live in a directory named after their own sha256, so two different
contents for one version can never overwrite each other's bytes.

The JSON pages sit at the keys an index client asks for (``<index-url><name>/``): an S3 key that
ends in ``/``. A directory cannot hold such a key, so a local repository has the HTML pages only
(a ``file://`` URL or a static HTTP front serves ``index.html`` for a directory).
"""

from __future__ import annotations

JSON_TYPE = "application/json"
HTML_TYPE = "text/html"
#: PEP 691: S3 cannot negotiate, so the object's own Content-Type tells clients how to parse it.
SIMPLE_JSON_TYPE = "application/vnd.pypi.simple.v1+json"
#: Pages change on every publish: caches (a CDN, uv's and pip's HTTP caches) revalidate them soon.
PAGE_CACHE = "max-age=60, must-revalidate"
#: Files live under their own sha256: their bytes never change.
FILE_CACHE = "public, max-age=31536000, immutable"

ROOT_INDEX = "packages/index.json"
SIMPLE_ROOT = "simple/index.html"
SIMPLE_ROOT_JSON = "simple/"
PENDING_PREFIX = "pending/"


def package_dir(name: str) -> str:
    return f"packages/{name}"


def index_key(name: str) -> str:
    return f"packages/{name}/index.json"


def releases_prefix(name: str) -> str:
    return f"packages/{name}/releases/"


def v1_record_key(name: str, version: str) -> str:
    """The release record of format 1: one wheel per version."""
    return f"{releases_prefix(name)}{version}.json"


def record_key(name: str, version: str, filename: str) -> str:
    """The file record: the commit point of one file of a version."""
    return f"{releases_prefix(name)}{version}/{filename}.json"


def parse_record_key(key: str, name: str) -> tuple[str, str | None] | None:
    """(version, file name) of a file record key of ``name``, (version, None) of a format 1 record, else None.

    Only the shape is checked here: the record's content must still agree with what the key says.
    """
    prefix = releases_prefix(name)
    if not key.startswith(prefix) or not key.endswith(".json"):
        return None
    rest = key[len(prefix):-len(".json")]
    version, slash, filename = rest.partition("/")
    if not version or "/" in filename or (slash and not filename):
        return None
    return version, (filename if slash else None)


def file_key(name: str, sha256: str, filename: str) -> str:
    return f"packages/{name}/files/{sha256}/{filename}"


def simple_key(name: str) -> str:
    return f"simple/{name}/index.html"


def simple_json_key(name: str) -> str:
    """The PEP 691 page, at the key ``<index-url><name>/`` itself (S3 only)."""
    return f"simple/{name}/"


def pending_key(name: str) -> str:
    """The changes a prune has begun on a package and not finished yet (:mod:`.pending`)."""
    return f"{PENDING_PREFIX}{name}.json"
