"""Bundling the current Poetry project with Poetry's own wheel builder (no subprocess)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poetry.poetry import Poetry

    from ..bundle import BundleMeta


def bundle_project(poetry: Poetry, out_dir: Path) -> tuple[Path, BundleMeta]:
    """Build the project's wheel with poetry-core into a private directory, then bundle it.

    The wheel is built from the project as it is on disk (no stale ``dist/`` wheel is ever
    picked up) and only the finished ``.pipper`` is written to ``out_dir``.
    """
    from poetry.core.masonry.builders.wheel import WheelBuilder

    from ..bundle import inspect_wheel, meta_for, read_pipper_json, write_bundle
    from ..errors import PipperError

    if not poetry.is_package_mode:
        raise PipperError(
            f"{poetry.pyproject_path.parent} is not a package (package-mode = false): there is no wheel to bundle"
        )
    with tempfile.TemporaryDirectory(prefix="pipper-poetry-build-") as tmp:
        wheel = Path(tmp) / WheelBuilder.make_in(poetry, Path(tmp))
        meta = meta_for(inspect_wheel(wheel), read_pipper_json(poetry.pyproject_path.parent))
        return write_bundle(wheel, meta, out_dir), meta
