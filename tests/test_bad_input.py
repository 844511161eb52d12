"""The bad-input corpus: every case exits 1 with one readable line, no traceback, the bucket untouched.

Each case gets a fresh bucket on the moto server holding ``present`` 1.0.0, may damage it or
make a bad file, then runs the CLI as a real process. The bucket is snapshotted (every key and
ETag) after the setup and compared after the command.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from poetry_pipper.bundle import make_bundle
from poetry_pipper.publish import publish_file

from .helpers import free_port, make_wheel
from .servers import RepoUnderTest

META, WHEEL = "package.meta", "package.whl"


@dataclass
class Run:
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    bucket: bool = True  # append -b <the test bucket>


@dataclass
class Ctx:
    repo: RepoUnderTest
    tmp: Path

    @property
    def storage(self):  # type: ignore[no-untyped-def]
        return self.repo.open().storage

    def file(self, name: str, data: bytes) -> str:
        path = self.tmp / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return str(path)

    def good(self, version: str = "2.0.0", name: str = "present") -> tuple[dict, bytes, bytes]:  # type: ignore[type-arg]
        """(meta, wheel bytes, bundle bytes) of a valid bundle."""
        wheel = make_wheel(self.tmp / "good" / version, name, version)
        bundle, _ = make_bundle(wheel, self.tmp / "good-bundle" / version)
        with zipfile.ZipFile(bundle) as z:
            return json.loads(z.read(META)), z.read(WHEEL), bundle.read_bytes()

    def forge(self, members: list[tuple[str | zipfile.ZipInfo, bytes]], name: str = "forged.pipper",
              compression: int = zipfile.ZIP_STORED) -> str:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression) as z:
            for member, data in members:
                z.writestr(member, data)
        return self.file(name, buffer.getvalue())

    def forge_meta(self, change: Callable[[dict], object], wheel: bytes | None = None) -> str:  # type: ignore[type-arg]
        meta, good_wheel, _ = self.good()
        result = change(meta)
        meta = meta if result is None else result  # type: ignore[assignment]
        return self.forge([(META, json.dumps(meta).encode()), (WHEEL, good_wheel if wheel is None else wheel)])

    def put(self, key: str, data: bytes) -> None:
        self.storage.put(key, data)

    def index(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.storage.get("packages/present/index.json").data)  # type: ignore[no-any-return]

    def file_key(self, version: str = "1.0.0") -> str:
        """The stored key of the (only) file of a version."""
        (entry,) = self.index()["releases"][version]["files"].values()
        return f"packages/present/files/{entry['sha256']}/{entry['filename']}"


def only_entry(release: dict) -> dict:  # type: ignore[type-arg]
    (entry,) = release["files"].values()
    return entry  # type: ignore[no-any-return]


def publish(path: str) -> Run:
    return Run(["publish", path])


# -- bundles --------------------------------------------------------------------------------


def truncated(ctx: Ctx) -> Run:
    _, _, data = ctx.good()
    return publish(ctx.file("truncated.pipper", data[: len(data) // 2]))


def symlink_member(ctx: Ctx) -> Run:
    meta, _, _ = ctx.good()
    link = zipfile.ZipInfo(WHEEL)
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    return publish(ctx.forge([(META, json.dumps(meta).encode()), (link, b"/etc/passwd")]))


def bomb(ctx: Ctx) -> Run:
    meta, _, _ = ctx.good()
    zeros = bytes(32 * 1024 * 1024)
    return publish(ctx.forge([(META, json.dumps(meta).encode()), (WHEEL, zeros)], compression=zipfile.ZIP_DEFLATED))


def wheel_member(ctx: Ctx, wheel: bytes) -> Run:
    import hashlib

    def change(meta: dict) -> None:  # type: ignore[type-arg]
        meta.update(sha256=hashlib.sha256(wheel).hexdigest(), size=len(wheel))

    return publish(ctx.forge_meta(change, wheel))


def lying_wheel_metadata(ctx: Ctx) -> Run:
    inner = make_wheel(ctx.tmp / "liar", "other-name", "2.0.0").read_bytes()
    return wheel_member(ctx, inner)


def whl(ctx: Ctx, name: str, data: bytes) -> Run:
    return publish(ctx.file(name, data))


def extra_member(name: str) -> Callable[[Ctx], Run]:
    def setup(ctx: Ctx) -> Run:
        meta, wheel, _ = ctx.good()
        return publish(ctx.forge([(META, json.dumps(meta).encode()), (WHEEL, wheel), (name, b"x")]))

    return setup


def different_content(ctx: Ctx) -> Run:
    wheel = make_wheel(ctx.tmp / "different", "present", "1.0.0", body="X = 2\n")
    return publish(str(make_bundle(wheel, ctx.tmp / "different-bundle")[0]))


def empty_dir(ctx: Ctx) -> Run:
    (ctx.tmp / "empty").mkdir()
    return publish(str(ctx.tmp / "empty"))


def meta_change(change: Callable[[dict], object]) -> Callable[[Ctx], Run]:  # type: ignore[type-arg]
    return lambda ctx: publish(ctx.forge_meta(change))


# -- the bucket -----------------------------------------------------------------------------


def broken_index(data: bytes, command: list[str] | None = None) -> Callable[[Ctx], Run]:
    def setup(ctx: Ctx) -> Run:
        ctx.put("packages/present/index.json", data)
        return Run(command or ["info", "present"])

    return setup


def index_entry(change: Callable[[dict], None]) -> Callable[[Ctx], Run]:  # type: ignore[type-arg]
    def setup(ctx: Ctx) -> Run:
        index = ctx.index()
        change(index["releases"])
        ctx.put("packages/present/index.json", json.dumps(index).encode())
        return Run(["download", "present", "-d", str(ctx.tmp / "dl")])

    return setup


def publish_onto(data: bytes) -> Callable[[Ctx], Run]:
    def setup(ctx: Ctx) -> Run:
        ctx.put("packages/present/index.json", data)
        _, _, bundle = ctx.good("3.0.0")
        return publish(ctx.file("present-3.0.0.pipper", bundle))

    return setup


def foreign_record(ctx: Ctx) -> Run:
    ctx.put("packages/present/releases/1.0.0/present-1.0.0-py3-none-any.whl.json", json.dumps({"hello": "world"}).encode())
    return Run(["yank", "present:1.0.0"])


def foreign_objects(ctx: Ctx) -> Run:
    ctx.put("backup/old.tar", b"tar")
    ctx.put("packages/present/files/readme.txt", b"hi")
    return Run(["verify"])


def corrupt_stored_wheel(ctx: Ctx) -> Run:
    ctx.put(ctx.file_key(), b"PK not the wheel")
    return Run(["download", "present", "-d", str(ctx.tmp / "dl")])


def missing_stored_wheel(ctx: Ctx) -> Run:
    ctx.storage.delete(ctx.file_key())
    return Run(["download", "present", "-d", str(ctx.tmp / "dl")])


def newer_root(ctx: Ctx) -> Run:
    ctx.put("packages/index.json", json.dumps({"format": 7, "packages": {}}).encode())
    return Run(["reindex"])


def config(content: bytes | None, *, directory: bool = False) -> Callable[[Ctx], Run]:
    def setup(ctx: Ctx) -> Run:
        folder = ctx.tmp / "config"
        path = folder / "config.json"
        folder.mkdir(parents=True, exist_ok=True)
        if directory:
            path.mkdir()
        elif content is not None:
            path.write_bytes(content)
        return Run(["info", "present", "-r", "team"], env={"PIPPER_CONFIG_DIR": str(folder)}, bucket=False)

    return setup


def dead_endpoint(ctx: Ctx) -> Run:
    dead = f"http://127.0.0.1:{free_port()}"
    return Run(["info", "present", "--endpoint-url", dead], env={"AWS_MAX_ATTEMPTS": "2"})


def no_bucket(command: list[str]) -> Callable[[Ctx], Run]:
    return lambda ctx: Run([*command, "-b", "s3://no-such-bucket-for-pipper/p"], bucket=False)


def spec_file(data: bytes) -> Callable[[Ctx], Run]:
    return lambda ctx: Run(["download", "-i", ctx.file("pipper.json", data), "-d", str(ctx.tmp / "dl")])


def simple(*args: str) -> Callable[[Ctx], Run]:
    return lambda ctx: Run(list(args))


# (id, setup, expected text in the error line)
CASES: list[tuple[str, Callable[[Ctx], Run], str]] = [
    # specs, names, versions
    ("spec-bad-name", simple("download", "bad name!"), "invalid package spec"),
    ("spec-bad-wildcard", simple("download", "present:1.*.x"), "invalid version spec"),
    ("spec-nothing-after-colon", simple("download", "present:"), "nothing after ':'"),
    ("spec-nothing-after-operator", simple("download", "present:>="), "nothing after the operator"),
    ("spec-wildcard-comparison", simple("download", "present:>1.*"), "'*' only works with =="),
    ("spec-empty", simple("download", ""), "empty package spec"),
    ("spec-url", simple("download", "present @ https://example.invalid/p.whl"), "URL requirements"),
    ("spec-unclosed-extra", simple("install", "present[", "--dry-run"), "invalid package spec"),
    ("name-trailing-underscore", simple("info", "bad_"), "invalid package name"),
    ("spec-no-match", simple("download", "present:>=9"), "no version of present matches"),
    ("spec-unknown-package", simple("download", "absent"), "not found"),
    ("yank-no-version", simple("yank", "present"), "needs one exact version"),
    ("yank-wildcard", simple("yank", "present:1.*"), "needs one exact version"),
    ("yank-unpublished", simple("yank", "present:9.9"), "present 9.9 is not published"),
    ("yank-reason-too-long", simple("yank", "present:1.0.0", "--reason", "x" * 600), "keep it under 500"),
    ("unyank-bad-version", simple("unyank", "present:one.two"), "invalid version"),
    ("delete-without-yes", simple("delete", "present:1.0.0"), "add --yes"),
    ("delete-range", simple("delete", "present:>1", "--yes"), "needs one exact version"),
    ("delete-unpublished", simple("delete", "present:7.0", "--yes"), "present 7.0 is not published"),
    ("spec-file-missing", simple("download", "-i", "/nonexistent/pipper.json"), "no such file"),
    ("spec-file-not-json", spec_file(b"{dependencies: ["), "not a readable JSON file"),
    ("spec-file-wrong-shape", spec_file(b'{"dependencies": "present"}'), "expected {\"dependencies\""),
    # durations (pipper authorize -e)
    ("duration-unknown-unit", simple("authorize", "present", "-e", "5x"), "invalid duration '5x'"),
    ("duration-negative", simple("authorize", "present", "--expires=-1h"), "invalid duration"),
    ("duration-zero", simple("authorize", "present", "-e", "0s"), "must be more than zero"),
    ("duration-too-long", simple("authorize", "present", "-e", "8d"), "longer than 7 days"),
    ("duration-huge", simple("authorize", "present", "-e", "99999999999999999999d"), "longer than 7 days"),
    # bundles
    ("bundle-not-a-zip", lambda c: publish(c.file("x.pipper", b"hello, not a zip")), "not a .pipper bundle"),
    ("bundle-truncated", truncated, "not a .pipper bundle"),
    ("bundle-missing-wheel", lambda c: publish(c.forge([(META, json.dumps(c.good()[0]).encode())])),
     "expected package.meta and package.whl, found package.meta"),
    ("bundle-extra-member", extra_member("notes.txt"), "found notes.txt, package.meta, package.whl"),
    ("bundle-zip-slip", extra_member("../../evil.py"), "not a .pipper bundle"),
    ("bundle-absolute-member", extra_member("/etc/cron.d/evil"), "not a .pipper bundle"),
    ("bundle-symlink-member", symlink_member, "is a symlink"),
    ("bundle-decompression-bomb", bomb, "suspicious compression ratio"),
    ("bundle-sha256-lies", meta_change(lambda m: m.update(sha256="0" * 64)), "the metadata says 0000000000000000"),
    ("bundle-size-lies", meta_change(lambda m: m.update(size=m["size"] + 1)), "size is"),
    ("bundle-wheel-name-slip", meta_change(lambda m: m.update(wheel_name="../../present-2.0.0-py3-none-any.whl")),
     "is not a valid wheel file name"),
    ("bundle-wheel-name-absolute", meta_change(lambda m: m.update(wheel_name="/tmp/present-2.0.0-py3-none-any.whl")),
     "is not a valid wheel file name"),
    ("bundle-wheel-name-mismatch", meta_change(lambda m: m.update(wheel_name="other-2.0.0-py3-none-any.whl")),
     "does not match"),
    ("bundle-meta-not-json", lambda c: publish(c.forge([(META, b"{nope"), (WHEEL, c.good()[1])])), "is not valid JSON"),
    ("bundle-meta-not-object", meta_change(lambda m: [m]), "metadata is not a JSON object"),
    ("bundle-newer-format", meta_change(lambda m: m.update(bundle_format=99)), "newer than this pipper understands"),
    ("bundle-meta-missing-version", meta_change(lambda m: m.__delitem__("version")), "missing or has a bad field"),
    ("bundle-meta-bad-version", meta_change(lambda m: m.update(version="one.two")), "missing or has a bad field"),
    ("bundle-wheel-not-a-zip", lambda c: wheel_member(c, b"definitely not a zip"), "not a readable wheel"),
    ("bundle-wheel-metadata-lies", lying_wheel_metadata, "the file name disagrees"),
    ("wheel-not-a-zip", lambda c: whl(c, "present-2.0.0-py3-none-any.whl", b"nope"), "not a readable wheel"),
    ("wheel-bad-file-name", lambda c: whl(c, "notawheel.whl", b"nope"), "is not a valid wheel file name"),
    ("publish-missing-file", simple("publish", "/nonexistent/present-2.0.0.pipper"), "no such file or directory"),
    ("publish-empty-dir", empty_dir, "no distributions in"),
    ("install-corrupt-bundle", lambda c: Run(["install", c.file("y.pipper", b"garbage"), "--dry-run"]), "not a .pipper bundle"),
    ("publish-different-content", different_content, "already published with different content"),
    # the bucket's contents
    ("index-not-json", broken_index(b"{not json"), "not valid JSON"),
    ("index-newer-format", broken_index(b'{"format": 99, "name": "present", "releases": {}}'), "upgrade poetry-pipper"),
    ("index-not-object", broken_index(b"[1, 2]"), "is not a JSON object"),
    ("index-foreign-json", broken_index(b'{"hello": "world"}'), "not a pipper document"),
    ("index-no-releases", broken_index(b'{"format": 1, "name": "present"}'), "'releases' is missing"),
    ("index-bad-version-key", index_entry(lambda r: r.update({"not-a-version": r["1.0.0"]})), "is not a PEP 440 version"),
    ("index-short-sha256", index_entry(lambda r: only_entry(r["1.0.0"]).update(sha256="abc")), "is not a sha256"),
    ("index-not-json-verify", broken_index(b"{not json", ["verify"]), "pipper reindex"),
    ("publish-onto-bad-index", publish_onto(b"{not json"), "not valid JSON"),
    ("publish-onto-newer-index", publish_onto(b'{"format": 3, "name": "present", "releases": {}}'), "upgrade poetry-pipper"),
    ("root-newer-format", newer_root, "upgrade poetry-pipper"),
    ("record-foreign-json", foreign_record, "not a pipper document"),
    ("foreign-objects", foreign_objects, "2 problems"),
    ("stored-wheel-corrupt", corrupt_stored_wheel, "hash mismatch"),
    ("stored-wheel-missing", missing_stored_wheel, "does not exist"),
    # configuration and reaching the repository
    ("config-not-json", config(b"{broken"), "not valid JSON"),
    ("config-empty", config(b""), "empty"),
    ("config-newer-format", config(b'{"version": 9, "repositories": {}}'), "upgrade poetry-pipper"),
    ("config-unreadable", config(None, directory=True), "cannot read config file"),
    ("location-bad-bucket", lambda c: Run(["info", "present", "-b", "Bad_Bucket!"], bucket=False), "invalid bucket"),
    ("location-bad-scheme", lambda c: Run(["info", "present", "-b", "gs://x/y"], bucket=False), "unsupported repository URL scheme"),
    ("location-file-host", lambda c: Run(["info", "present", "-b", "file://host/x"], bucket=False), "file:///absolute/path"),
    ("endpoint-down", dead_endpoint, "cannot reach"),
    ("bucket-missing-info", no_bucket(["info", "present"]), "does not exist"),
    ("bucket-missing-verify", no_bucket(["verify"]), "does not exist"),
    ("bucket-missing-reindex", no_bucket(["reindex"]), "does not exist"),
    ("bucket-missing-yank", no_bucket(["yank", "present:1.0.0"]), "does not exist"),
]


def snapshot(repo: RepoUnderTest) -> dict[str, str]:
    assert repo.server is not None
    client = repo.server.client()
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=repo.bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"]
    return found


@pytest.mark.parametrize(("setup", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(s3_repo: RepoUnderTest, tmp_path: Path, setup: Callable[[Ctx], Run], expected: str) -> None:
    ctx = Ctx(s3_repo, tmp_path)
    wheel = make_wheel(tmp_path / "present", "present", "1.0.0")
    publish_file(s3_repo.open(), make_bundle(wheel, tmp_path / "present-bundle")[0])
    run = setup(ctx)
    before = snapshot(s3_repo)
    args = [*run.args, "-b", s3_repo.url] if run.bucket else run.args
    result = s3_repo.cli(*args, env=run.env)
    line = result.assert_one_line_error()
    assert expected in line, line
    assert snapshot(s3_repo) == before
    assert not (tmp_path / "dl").exists() or not list((tmp_path / "dl").iterdir())


def test_the_corpus_is_big_enough() -> None:
    print(f"bad-input corpus: {len(CASES)} cases")
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)
