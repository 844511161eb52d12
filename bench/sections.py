"""The other benchmark sections, on loopback (no latency proxy): pipper 0.11.1, scaling, publish, plugin.

All talk to the moto server directly (about 3 ms per request here).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from bench.context import POETRY, Context, poetry_project
from bench.support import NEUTRAL_CWD, PY, BenchError, median, methods, mirror, publish, run

OLD_PIPPER = "from pipper.command import run; run()"  # pipper 0.11.1's console entry point


def s3_env(ctx: Context) -> dict[str, str]:
    return {**ctx.env, "AWS_ENDPOINT_URL": ctx.s3.url}


def create_bucket(ctx: Context, name: str) -> str:
    import boto3

    boto3.client("s3", endpoint_url=ctx.s3.url, region_name="us-east-1", aws_access_key_id="bench",
                 aws_secret_access_key="bench").create_bucket(Bucket=name)
    return f"s3://{name}/pipper"


# -- 1. install vs pipper 0.11.1 -------------------------------------------------------------


def old_style_chain(ctx: Context, count: int, tag: str) -> list[Path]:
    """tag-1 -> tag-2 -> ... -> tag-N as pipper 0.x bundles (`dependencies` in the bundle meta),
    which both tools follow; dependencies first."""
    from poetry_pipper.bundle import inspect_wheel, meta_for, write_bundle
    from tests.helpers import make_wheel

    bundles = []
    for i in range(count, 0, -1):
        wheel = make_wheel(ctx.scratch / "wheels" / f"{tag}-{i}", f"{tag}-{i}", "1.0.0")
        deps = [f"{tag}-{i + 1}"] if i < count else []
        bundles.append(write_bundle(wheel, meta_for(inspect_wheel(wheel), deps), ctx.scratch / "bundles" / tag))
    return bundles


def install_vs_pipper011(ctx: Context) -> None:
    print("== install: poetry-pipper vs pipper 0.11.1 (loopback)", flush=True)
    try:
        publisher = ctx.venv("pipper011")
    except BenchError as exc:
        ctx.figures.notes.append(f"install vs pipper 0.11.1 skipped: {exc}")
        print(f"  skipped: {exc}", flush=True)
        return
    create_bucket(ctx, "bench-old")
    new_url = create_bucket(ctx, "bench-new")
    env = s3_env(ctx)
    rows: list[list[Any]] = []
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for label, count in (("one", 1), ("chain5", 5)):
        bundles = old_style_chain(ctx, count, f"{label}pkg")
        for bundle in bundles:
            run([str(publisher / "bin" / "python"), "-c", OLD_PIPPER, "publish", str(bundle), "-b", "bench-old"], env)
        publish(bundles, new_url, env)
        top = f"{label}pkg-1"
        timings: dict[str, list[float]] = {"pipper011": [], "pipper": [], "pipper_warm": []}
        counts: dict[str, Counter[str]] = {}
        for _ in range(ctx.runs):
            venv = ctx.venv("pipper011")
            elapsed, counts["pipper011"] = methods(ctx.s3.log, partial(
                run, [str(venv / "bin" / "python"), "-c", OLD_PIPPER, "install", top, "-b", "bench-old"], env))
            timings["pipper011"].append(elapsed)
            cached = ctx.pipper_env(ctx.s3.url)
            for key in ("pipper", "pipper_warm"):  # the second run: a fresh venv, the same (warm) wheel cache
                venv = ctx.venv("pipper")
                elapsed, counts[key] = methods(ctx.s3.log, partial(
                    run, [str(venv / "bin" / "python"), "-m", "poetry_pipper", "install", top, "-b", new_url], cached))
                timings[key].append(elapsed)
        results[label] = {k: {"median_s": median(v), "runs": v, "s3_requests": sum(counts[k].values()),
                              "by_method": dict(counts[k])} for k, v in timings.items()}
        rows.append([label, *(f"{median(timings[k])} s / {sum(counts[k].values())}" for k in timings)])
    ctx.figures.results["install_vs_pipper011"] = results
    chain = results["chain5"]
    section = "Install vs pipper 0.11.1 (loopback)"
    ctx.figures.add(section, "install_vs_pipper011", chain["pipper"]["median_s"] / chain["pipper011"]["median_s"],
                    "wall time of `pipper install` / pipper 0.11.1, 5-package chain", "<=0.5")
    ctx.figures.add(section, "install_chain5_requests", chain["pipper"]["s3_requests"],
                    "S3 requests of `pipper install`, 5-package chain", "<=10")
    ctx.figures.add(section, "install_requests_vs_pipper011",
                    chain["pipper"]["s3_requests"] / max(chain["pipper011"]["s3_requests"], 1),
                    "S3 requests of `pipper install` / pipper 0.11.1, 5-package chain")
    ctx.figures.table(section, "Install vs pipper 0.11.1 (median seconds / S3 requests)",
          ["case", "pipper 0.11.1", "poetry-pipper, cold cache", "poetry-pipper, warm cache"], rows)


# -- 2. scaling ------------------------------------------------------------------------------


def publish_package_set(ctx: Context, url: str, packages: int, versions: int, tag: str) -> list[str]:
    """tag-0 -> tag-1 -> ... -> tag-N-1 -> tinypublic, `versions` versions each; published to a local
    repository with `pipper publish`, then copied to the bucket (same layout)."""
    from tests.helpers import make_wheel

    names = [f"{tag}-{i}" for i in range(packages)]
    wheels = []
    for i in reversed(range(packages)):
        requires = [f"{names[i + 1]}>=0"] if i + 1 < packages else ["tinypublic>=1"]
        wheels += [make_wheel(ctx.scratch / "wheels" / f"{names[i]}-{v}", names[i], f"1.{v}.0", requires=requires)
                   for v in range(versions)]
    local = ctx.scratch / "repos" / tag
    publish(wheels, str(local))
    mirror(local, ctx.s3.url, url)
    return names


def scaling(ctx: Context) -> None:
    print("== scaling: versions per package and number of packages (loopback)", flush=True)
    rows, data = [], {}
    cases = [("versions", 1, v) for v in (5, 50, 500)] + [("packages", p, 3) for p in (1, 10, 50)]
    for kind, packages, versions in cases:
        tag = f"s{kind[0]}{packages}x{versions}"
        url = f"s3://bench-{tag}/pipper"
        names = publish_package_set(ctx, url, packages, versions, tag)
        project = poetry_project(ctx.scratch / "projects" / tag, [("public", ctx.public_url, "primary"),
                                                                  ("private", url, "explicit")],
                                 {names[0]: '{version = "*", source = "private"}'})
        run([POETRY, "lock", "--no-interaction"], ctx.poetry_env(ctx.s3.url), cwd=project)  # untimed: creates the venv
        locks, lock_requests, installs, install_requests = [], 0, [], 0
        for _ in range(ctx.runs):
            (project / "poetry.lock").unlink()
            env = ctx.poetry_env(ctx.s3.url)
            elapsed, counts = methods(ctx.s3.log, partial(run, [POETRY, "lock", "--no-interaction"], env, project))
            locks.append(elapsed)
            lock_requests = sum(counts.values())
            venv = ctx.venv("pipper")
            env = ctx.pipper_env(ctx.s3.url)
            elapsed, counts = methods(ctx.s3.log, partial(
                run, [str(venv / "bin" / "python"), "-m", "poetry_pipper", "install", names[0], "-b", url], env))
            installs.append(elapsed)
            install_requests = sum(counts.values())
        data[f"{kind}:{packages}x{versions}"] = row = {
            "packages": packages, "versions": versions, "lock_s": median(locks), "lock_requests": lock_requests,
            "install_s": median(installs), "install_requests": install_requests}
        rows.append(list(row.values()))
        print(f"  {packages} pkg x {versions} versions: lock {row['lock_s']:.3f}s/{lock_requests} req,"
              f" install {row['install_s']:.3f}s/{install_requests} req", flush=True)
    ctx.figures.results["scaling"] = data
    section = "Scaling (loopback)"
    ctx.figures.add(section, "poetry_lock_500_vs_5_versions",
                    data["versions:1x500"]["lock_s"] / data["versions:1x5"]["lock_s"],
                    "`poetry lock` time at 500 / 5 versions per package", "<=1.5")
    ctx.figures.add(section, "pipper_install_500_vs_5_versions",
                    data["versions:1x500"]["install_s"] / data["versions:1x5"]["install_s"],
                    "`pipper install` time at 500 / 5 versions per package")
    ctx.figures.table(section, "Scaling (median seconds, S3 requests)",
          ["private packages", "versions each", "poetry lock s", "lock requests", "pipper install s", "install requests"],
          rows)


# -- 3. publish throughput --------------------------------------------------------------------


def publish_throughput(ctx: Context) -> None:
    print("== publish: 1 MB and 200 MB wheels (loopback)", flush=True)
    from tests.helpers import make_wheel

    url = create_bucket(ctx, "bench-publish")
    rows: list[list[Any]] = []
    out: dict[str, dict[str, Any]] = {}
    for label, size in (("1MB", 1024 * 1024), ("200MB", 200 * 1024 * 1024)):
        wheel = make_wheel(ctx.scratch / "wheels" / f"big-{label}", f"big-{label.lower()}", "1.0.0", padding=size)
        elapsed, counts = methods(ctx.s3.log, partial(
            run, [PY, "-m", "poetry_pipper", "publish", str(wheel), "-b", url], s3_env(ctx)))
        out[label] = row = {"seconds": round(elapsed, 3), "mb_per_s": round(size / 1024 / 1024 / elapsed, 1),
                            "requests": sum(counts.values()), "by_method": dict(counts),
                            "multipart": counts.get("POST", 0) >= 2}
        rows.append([label, *row.values()])
        print(f"  {label}: {row}", flush=True)
        wheel.unlink()
    ctx.figures.results["publish"] = out
    section = "Publish throughput (loopback)"
    ctx.figures.add(section, "publish_200mb_mb_per_s", out["200MB"]["mb_per_s"], "`pipper publish` of a 200 MB wheel (MB/s)")
    ctx.figures.add(section, "publish_first_release_requests", out["1MB"]["requests"],
                    "S3 requests of the first release of a package (1 MB wheel)")
    ctx.figures.table(section, "Publish (first release of a package)",
                      ["wheel", "seconds", "MB/s", "requests", "by method", "multipart"], rows)


# -- 4. plugin overhead -----------------------------------------------------------------------

ACTIVATE = """\
import sys, time
from poetry.console.application import Application
from poetry.factory import Factory
from cleo.io.null_io import NullIO
poetry = Factory().create_poetry(sys.argv[1], disable_plugins=True)
app = Application()
t = time.perf_counter()
import poetry_pipper.plugin as plugin
plugin.PipperApplicationPlugin().activate(app)
plugin.PipperPlugin().activate(poetry, NullIO())
print((time.perf_counter() - t) * 1000)
assert 'boto3' not in sys.modules
"""


def plugin_overhead(ctx: Context) -> None:
    """What loading poetry-pipper adds to every Poetry command.

    `poetry --version` vs `poetry --no-plugins --version` also counts Poetry's own plugin machinery
    (scanning every installed distribution's entry points), which any plugin triggers. The plugin's
    own share is timed in fresh processes: importing it and running both activate() hooks.
    """
    print("== plugin overhead on `poetry --version`", flush=True)
    count = 5 if ctx.quick else 15
    env = ctx.poetry_env()
    with_plugin = [run([POETRY, "--version"], env) for _ in range(count)]
    without = [run([POETRY, "--no-plugins", "--version"], env) for _ in range(count)]
    project = poetry_project(ctx.scratch / "projects" / "overhead", [("private", "s3://bench-unused/p", "explicit")], {})
    own = []
    for _ in range(count):
        proc = subprocess.run([PY, "-c", ACTIVATE, str(project)], env=env, capture_output=True, text=True, check=False,
                              cwd=NEUTRAL_CWD)
        if proc.returncode != 0:
            raise BenchError(f"plugin activation failed: {proc.stderr.strip()}")
        own.append(float(proc.stdout.strip()))
    machinery_ms = (median(with_plugin) - median(without)) * 1000
    ctx.figures.results["plugin_overhead"] = {
        "poetry_version_with_plugins_s": median(with_plugin), "poetry_version_no_plugins_s": median(without),
        "plugin_loading_incl_poetry_machinery_ms": round(machinery_ms, 1), "poetry_pipper_import_and_activate_ms": median(own)}
    section = "Plugin overhead"
    ctx.figures.add(section, "plugin_overhead_ms", median(own), "poetry-pipper's own import + activate (ms)", "<=30")
    ctx.figures.add(section, "poetry_plugin_machinery_ms", machinery_ms,
                    "`poetry --version` with plugins - with `--no-plugins` (ms; Poetry's entry-point scan)")
    shutil.rmtree(project, ignore_errors=True)


SECTIONS = {"install_vs_pipper011": install_vs_pipper011, "scaling": scaling,
            "publish_throughput": publish_throughput, "plugin_overhead": plugin_overhead}
