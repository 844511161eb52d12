"""Object keys of the on-bucket layout (docs/FORMAT.md), relative to the repository root.

Layout::

    packages/index.json                               root list of all packages
    packages/<name>/index.json                        per-package index: everything a resolver needs, one GET
    packages/<name>/releases/<version>.json           release record (immutable, the commit point)
    packages/<name>/files/<sha256>/<wheel>            the wheel, under its own file name
    packages/<name>/files/<sha256>/<wheel>.metadata   PEP 658 core-metadata sidecar
    simple/index.html                                 PEP 503 root page
    simple/<name>/index.html                          PEP 503 project page

``<name>`` is the PEP 503 normalized project name, ``<version>`` the normalized PEP 440
version. Wheels live in a directory named after their own sha256, so two different
contents for one version can never overwrite each other's bytes.
"""

from __future__ import annotations

JSON_TYPE = "application/json"
HTML_TYPE = "text/html"

ROOT_INDEX = "packages/index.json"
SIMPLE_ROOT = "simple/index.html"


def package_dir(name: str) -> str:
    return f"packages/{name}"


def index_key(name: str) -> str:
    return f"packages/{name}/index.json"


def releases_prefix(name: str) -> str:
    return f"packages/{name}/releases/"


def release_key(name: str, version: str) -> str:
    return f"{releases_prefix(name)}{version}.json"


def file_key(name: str, sha256: str, filename: str) -> str:
    return f"packages/{name}/files/{sha256}/{filename}"


def simple_key(name: str) -> str:
    return f"simple/{name}/index.html"
