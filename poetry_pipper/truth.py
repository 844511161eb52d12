"""The wheel's own METADATA is the truth for its dependencies; the index only repeats it.

Resolvers read dependencies from the package index (one GET per package), not from the wheels. An
index can disagree with the wheels it describes: edited by hand, written by a buggy or older client,
left half-migrated. The wheel cannot: its sha256 is verified before it is used. So before a wheel
is installed (``pipper install``) or saved (``pipper download``), what its METADATA declares is
compared with the index entry the resolution used (:func:`check_against_wheel`):

* a different Requires-Dist or Requires-Python: refused, nothing is installed or saved (the
  private closure was resolved from wrong data); ``pipper verify`` names the entry, ``pipper
  reindex`` rebuilds the index from the records, or the version is published again;
* a direct URL reference (``name @ url``) in the wheel's METADATA: refused, since pip would fetch and
  build whatever the URL holds (``publish`` never accepts such a wheel, so it was put there by hand).

``pipper verify`` makes the same comparison with each file's PEP 658 sidecar (the wheel's METADATA,
checked against its recorded sha256). docs/FORMAT.md describes the whole policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from packaging.metadata import InvalidMetadata, Metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from .bundle import inspect_wheel
from .dependencies import url_requirements
from .errors import FormatError
from .index import WHEEL, DistFile

REPAIR = "run `pipper verify` on the repository, then `pipper reindex` (or publish the version again)"


def _requirements(texts: Iterable[str]) -> set[str]:
    found = set()
    for text in texts:
        try:
            found.add(str(Requirement(text)))
        except InvalidRequirement:
            found.add(text)
    return found


def _python(text: str | None) -> str:
    try:
        return str(SpecifierSet(text or ""))
    except InvalidSpecifier:
        return text or ""



def disagreement(
    dist: DistFile, requires_dist: Iterable[str], requires_python: str | None, said_by: str = "the index"
) -> str | None:
    """What ``dist`` (an index entry, or a record: ``said_by``) says differently from the file's own metadata."""
    said, actual = _requirements(dist.requires_dist), _requirements(requires_dist)
    if said != actual:
        extra, missing = sorted(said - actual), sorted(actual - said)
        if extra:
            return f"{said_by} lists Requires-Dist {extra[0][:200]!r}, which its METADATA does not"
        return f"its METADATA has Requires-Dist {missing[0][:200]!r}, which {said_by} does not list"
    if _python(dist.requires_python) != _python(requires_python):
        return (f"{said_by} says Requires-Python {(dist.requires_python or 'none')[:100]!r}, its METADATA says"
                f" {(requires_python or 'none')[:100]!r}")
    return None


def metadata_disagreement(dist: DistFile, metadata: bytes, said_by: str = "the index") -> str | None:
    """:func:`disagreement` with a METADATA file's bytes (a PEP 658 sidecar)."""
    try:
        meta = Metadata.from_email(metadata, validate=False)
        requires = [str(r) for r in meta.requires_dist or []]
        python = str(meta.requires_python) if meta.requires_python else None
    except (InvalidMetadata, ValueError, ExceptionGroup) as exc:
        return f"its METADATA cannot be read ({str(exc)[:100]})"
    return disagreement(dist, requires, python, said_by)


def check_against_wheel(dist: DistFile, path: Path) -> None:
    """Refuse a (verified) wheel whose METADATA disagrees with the index entry, or names a URL dependency."""
    if dist.kind != WHEEL:
        return  # an sdist's dependencies are what its build says: pip builds it from its own metadata
    wheel = inspect_wheel(path, sha256=dist.sha256)
    urls = url_requirements(wheel.requires_dist)
    if urls:
        raise FormatError(
            f"{dist.filename} declares the direct URL dependency {urls[0][:200]!r} in its own METADATA: pip would"
            " fetch and run whatever that URL holds, so nothing was installed or saved; a repository never serves"
            " such a wheel (`pipper publish` refuses it): delete it (`pipper delete`) and publish a fixed one"
        )
    why = disagreement(dist, wheel.requires_dist, wheel.requires_python)
    if why is not None:
        raise FormatError(
            f"{dist.name} {dist.version}: the index disagrees with {dist.filename} (sha256 verified): {why}; the"
            f" wheel's METADATA is the truth, so nothing was installed or saved; {REPAIR}"
        )
