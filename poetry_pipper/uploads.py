"""A distribution file on disk, checked and described: what ``publish`` uploads and what ``install``
takes from the command line.

A ``.whl`` is read (its METADATA, its WHEEL tags against its file name) and hashed once; a
``.pipper`` bundle goes through its reader, which verifies the wheel's sha256 while extracting it;
an sdist is read without being extracted. A direct URL reference in Requires-Dist is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from .bundle import BUNDLE_SUFFIX, inspect_wheel, read_bundle
from .dists import inspect_sdist
from .errors import FormatError, PipperError
from .index import REPAIR, DistFile

SUFFIXES = (".whl", ".tar.gz", BUNDLE_SUFFIX)


@dataclass(frozen=True)
class Upload:
    """A distribution file, checked and described, ready to publish (its upload time is set then)."""

    path: Path
    dist: DistFile
    metadata: bytes | None  # the PEP 658 sidecar, when the metadata can be trusted


def _refuse_url_dependencies(dist: DistFile, origin: str) -> None:
    for text in dist.requires_dist:
        try:
            url = Requirement(text).url
        except InvalidRequirement:
            raise FormatError(f"{origin}: Requires-Dist {text!r} is not a PEP 508 requirement; fix the project's metadata") from None
        if url:
            raise FormatError(
                f"{origin}: Requires-Dist {text!r} is a direct URL reference, which a repository must not serve"
                " (installers would fetch and build whatever that URL holds): depend on a published name instead"
            )


def _check_storable(dist: DistFile, origin: str) -> None:
    """What will be written must read back: the record and the index are checked when read (schema.py),
    so a file whose metadata they would refuse (a Summary with control characters, say) is refused now,
    before anything is written, instead of making its whole package index unreadable."""
    try:
        DistFile.from_json(dist.to_json(), origin, "its metadata")
    except FormatError as exc:
        reason = str(exc).removesuffix(f"; {REPAIR}")
        raise FormatError(f"{reason}; fix the project's metadata and build it again") from None


def read_upload(path: Path, workdir: Path) -> Upload:
    """Check a ``.whl``, an sdist (``.tar.gz``) or a ``.pipper`` bundle (extracted into ``workdir``)."""
    if not path.is_file():
        raise PipperError(f"{path}: no such file")
    if path.name.endswith(".tar.gz"):
        sdist = inspect_sdist(path)
        digest = hashlib.sha256(sdist.metadata).hexdigest() if sdist.metadata_trusted else None
        dist = DistFile(sdist.name, sdist.version, path.name, sdist.sha256, sdist.size,
                        requires_python=sdist.requires_python, requires_dist=tuple(sdist.requires_dist),
                        metadata_sha256=digest, summary=sdist.summary)
        upload = Upload(path, dist, sdist.metadata if sdist.metadata_trusted else None)
    elif path.suffix == ".whl":
        upload = wheel_upload(path)
    elif path.suffix == BUNDLE_SUFFIX:  # its reader verifies the wheel's sha256: not hashed again
        meta, wheel_path = read_bundle(path, workdir)
        upload = wheel_upload(wheel_path, meta.dependencies, sha256=meta.sha256)
    else:
        raise PipperError(f"{path}: not a distribution: publish a .whl, an sdist (.tar.gz) or a .pipper bundle")
    _refuse_url_dependencies(upload.dist, path.name)
    _check_storable(upload.dist, path.name)
    return upload


def wheel_upload(path: Path, dependencies: list[str] | tuple[str, ...] = (), *, sha256: str | None = None) -> Upload:
    """A wheel (with the 0.x ``dependencies`` of its bundle); ``sha256`` when already verified."""
    wheel = inspect_wheel(path, sha256=sha256)
    dist = DistFile(wheel.name, wheel.version, path.name, wheel.sha256, wheel.size,
                    requires_python=wheel.requires_python, requires_dist=tuple(wheel.requires_dist),
                    metadata_sha256=hashlib.sha256(wheel.metadata).hexdigest(), summary=wheel.summary,
                    dependencies=tuple(dependencies))
    upload = Upload(path, dist, wheel.metadata)
    _refuse_url_dependencies(dist, path.name)
    _check_storable(dist, path.name)
    return upload


def distributions(directory: Path) -> list[Path]:
    """The distributions in a directory (``twine upload dist/*``), sorted; an error if there are none."""
    found = sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(SUFFIXES))
    if not found:
        raise PipperError(
            f"no distributions in {directory}: expected .whl, .tar.gz or .pipper files (build them first,"
            " e.g. `pipper bundle` or `poetry build`), or pass a file"
        )
    return found
