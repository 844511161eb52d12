from __future__ import annotations

from pathlib import Path

from cleo.helpers import argument, option

from .base import PipperCommand


class DownloadCommand(PipperCommand):
    name = "download"
    description = "Download private packages (and their private dependencies) as .pipper bundles."
    arguments = [argument("packages", "NAME[:SPEC] or PEP 508 specs, e.g. foo, foo:1.2.*, 'foo>=1,<2'.", optional=True, multiple=True)]
    uses_repository = True
    chooses_files = True
    json_output = "Print what was saved as JSON."
    options = [
        option("dest", "d", "Where to save the files (as pip download -d/--dest).", flag=False, default="."),
        option("input", "i", "Read specs from a pipper.json-style file, or download with a pre-authorized file or"
               " page made by `pipper authorize` (no -b, no credentials).", flag=False),
        option("extract", "e", "Save the wheel and its metadata JSON instead of a bundle."),
        option("no-deps", None, "Do not download private dependencies."),
        option("pre", None, "Consider pre-releases."),
    ]
    help = """Chooses, for each package, the newest version with a file for the target: the most
specific compatible wheel, else the sdist (unless --only-binary), honouring Requires-Python and
the markers of every requirement. The target is this interpreter, or another machine described
as `pip download` does (--python-version, --platform, --implementation, --abi). Wheels are saved
as .pipper bundles (or, with -e, as the wheel and its metadata JSON), sdists as they are. Every
file is verified by sha256 before it is given its final name.

  pipper download foo:1.2.* -b s3://my-bucket/pypi -d ./bundles
  pipper download foo -e -d ./wheels      # the wheel and foo-1.2.0.json
  pipper download foo -e --platform macosx_11_0_arm64 --python-version 3.12 -d ./mac
  pipper download -i preauth.json -d ./bundles   # links from `pipper authorize -o`: no credentials"""

    def perform(self) -> int:
        from ..authorize import open_preauthorized
        from ..display import safe
        from ..install import download
        from ..specs import parse_specs

        preauthorized = open_preauthorized(self.option("input"), bucket=self.option("bucket"))
        if preauthorized is not None:
            specs = parse_specs(preauthorized.requested(list(self.argument("packages") or [])))
        else:
            specs = parse_specs(self.requested())
        target = self.file_target()
        repo = preauthorized or self.repository()
        saved = download(
            repo, specs, Path(self.option("dest")), target,
            pre=self.option("pre") or bool(preauthorized and preauthorized.pre),
            deps=not self.option("no-deps"), extract=self.option("extract"),
            allow_sdist=not self.option("only-binary"),
            progress=lambda d: self.transfer_progress(d.size, f"downloading {d.filename}"),
            warn=lambda line: self.line_error(f"<comment>warning: {safe(line)}</comment>"),
        )
        self.emit({"saved": saved}, [f"Saved {safe(path)}" for path in saved])
        return 0
