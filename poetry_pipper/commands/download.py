from __future__ import annotations

from pathlib import Path

from cleo.helpers import argument, option

from .base import PipperCommand, repository_options


class DownloadCommand(PipperCommand):
    name = "download"
    description = "Download private packages (and their private dependencies) as .pipper bundles."
    arguments = [argument("packages", "NAME[:SPEC] or PEP 508 specs, e.g. foo, foo:1.2.*, 'foo>=1,<2'.", optional=True, multiple=True)]
    options = [
        *repository_options(),
        option("dest", "d", "Where to save the files (as pip download -d/--dest).", flag=False, default="."),
        option("input", "i", "Read specs from a pipper.json-style file, or download with a pre-authorized file or"
               " page made by `pipper authorize` (no -b, no credentials).", flag=False),
        option("extract", "e", "Save the wheel and its metadata JSON instead of a bundle."),
        option("no-deps", None, "Do not download private dependencies."),
        option("pre", None, "Consider pre-releases."),
        option("json", None, "Print what was saved as JSON."),
    ]
    help = """Every file is verified by sha256 before it is given its final name.

  pipper download foo:1.2.* -b s3://my-bucket/pypi -d ./bundles
  pipper download foo -e -d ./wheels      # the wheel and foo-1.2.0.json
  pipper download -i preauth.json -d ./bundles   # links from `pipper authorize -o`: no credentials"""

    def perform(self) -> int:
        import json

        from ..authorize import open_preauthorized
        from ..bundle import bundle_name, write_bundle
        from ..index import Release
        from ..install import fetch, plan, resolve
        from ..resolve import Resolution
        from ..specs import parse_specs

        preauthorized = open_preauthorized(self.option("input"), bucket=self.option("bucket"))
        if preauthorized is not None:
            specs = parse_specs(preauthorized.requested(list(self.argument("packages") or [])))
        else:
            specs = parse_specs(self.requested())
        repo = preauthorized or self.repository()
        pre = self.option("pre") or bool(preauthorized and preauthorized.pre)
        if self.option("no-deps"):
            from ..repository import select

            chosen: dict[str, Release] = {s.name: select(repo.require_index(s.name), s, pre=pre) for s in specs}
            resolution = Resolution(chosen)
        else:
            resolution = resolve(repo, specs, pre=pre)
        # An empty search path: nothing counts as installed, every wheel is fetched.
        steps = plan(resolution, source=str(repo.location), search_path=[])
        fetch(repo, steps, lambda r: self.transfer_progress(r.meta.size, f"downloading {r.meta.wheel_name}"))
        out = Path(self.option("dest"))
        out.mkdir(parents=True, exist_ok=True)
        saved = []
        for step in steps:
            assert step.wheel is not None
            if self.option("extract"):
                import shutil

                wheel = out / step.release.meta.wheel_name
                tmp = out / f".pipper-tmp-{wheel.name}"
                shutil.copyfile(step.wheel, tmp)
                tmp.replace(wheel)
                meta_path = out / f"{step.release.project}-{step.version}.json"
                meta_path.write_text(json.dumps(step.release.meta.to_json(), indent=2, sort_keys=True) + "\n")
                saved += [str(wheel), str(meta_path)]
            else:
                saved.append(str(write_bundle(step.wheel, step.release.meta, out)))
                assert saved[-1].endswith(bundle_name(step.release.meta))
        if self.option("json"):
            self.emit_json({"saved": saved})
        else:
            for path in saved:
                self.line(f"Saved {path}")
        return 0
