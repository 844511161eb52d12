"""Building the current Poetry project with poetry-core's own builders (no subprocess).

Builds are reproducible: they run with the ``SOURCE_DATE_EPOCH`` of :mod:`poetry_pipper.reproducible`
(the user's, else the project's last git commit, else a fixed date), and poetry-core never checks
the project's ``requires-python`` against the interpreter running it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poetry.poetry import Poetry

    from ..bundle import BundleMeta


def _check_package_mode(poetry: Poetry, what: str) -> None:
    from ..errors import PipperError

    if not poetry.is_package_mode:
        raise PipperError(
            f"{poetry.pyproject_path.parent} is not a package (package-mode = false): there is no {what} to build"
        )


def bundle_project(poetry: Poetry, out_dir: Path) -> tuple[Path, BundleMeta]:
    """Build the project's wheel with poetry-core into a private directory, then bundle it.

    The wheel is built from the project as it is on disk (no stale ``dist/`` wheel is ever
    picked up) and only the finished ``.pipper`` is written to ``out_dir``.
    """
    from poetry.core.masonry.builders.wheel import WheelBuilder

    from ..bundle import inspect_wheel, meta_for, read_pipper_json, write_bundle
    from ..reproducible import epoch_set

    _check_package_mode(poetry, "wheel")
    project = poetry.pyproject_path.parent
    with tempfile.TemporaryDirectory(prefix="pipper-poetry-build-") as tmp:
        with epoch_set(project):
            wheel = Path(tmp) / WheelBuilder.make_in(poetry, Path(tmp))
        meta = meta_for(inspect_wheel(wheel), read_pipper_json(project))
        return write_bundle(wheel, meta, out_dir), meta


def build_sdist(poetry: Poetry, out_dir: Path) -> Path:
    """Build the project's sdist (``<name>-<version>.tar.gz``) with poetry-core into ``out_dir``.

    The file is checked with :func:`poetry_pipper.dists.inspect_sdist` before it is returned.
    """
    from poetry.core.masonry.builders.sdist import SdistBuilder

    from ..dists import inspect_sdist
    from ..reproducible import epoch_set

    _check_package_mode(poetry, "sdist")
    with epoch_set(poetry.pyproject_path.parent):
        path = SdistBuilder(poetry).build(out_dir)
    inspect_sdist(path)
    return path
