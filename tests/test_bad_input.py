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
    #: -vvv: a traceback is expected; the last line is the error, and no secret appears anywhere.
    verbose: bool = False
    secrets: tuple[str, ...] = ()
    #: text the report on stdout must hold (`pipper verify`'s problem kinds)
    shows: str = ""


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


# -- more hostile bucket documents (format 2 and format 1) -----------------------------------------


def index_doc(change: Callable[[dict], object], command: list[str] | None = None) -> Callable[[Ctx], Run]:  # type: ignore[type-arg]
    """The package index changed by ``change`` (which may return a whole new document), then ``command``."""

    def setup(ctx: Ctx) -> Run:
        index = ctx.index()
        result = change(index)
        ctx.put("packages/present/index.json", json.dumps(index if result is None else result).encode())
        return Run([part.replace("{dl}", str(ctx.tmp / "dl")) for part in (command or ["info", "present"])])

    return setup


def entry(change: Callable[[dict], object]) -> Callable[[dict], None]:  # type: ignore[type-arg]
    """Change the one file entry of 1.0.0."""
    return lambda index: [change(only_entry(index["releases"]["1.0.0"])), None][1]


DOWNLOAD = ["download", "present", "-d", "{dl}"]


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def as_format_1(change: Callable[[dict], object]) -> Callable[[dict], object]:  # type: ignore[type-arg]
    """The index rewritten in format 1 (one wheel per version, wheel_name/published), then changed."""

    def convert(index: dict) -> dict:  # type: ignore[type-arg]
        releases = {}
        for version, release in index["releases"].items():
            dist = dict(only_entry(release))
            dist["wheel_name"] = dist.pop("filename")
            dist["published"] = dist.pop("upload_time")
            releases[version] = dist
        converted = {"format": 1, "name": index["name"], "display_name": index["display_name"], "releases": releases}
        change(converted)
        return converted

    return convert


def two_versions_in_one(index: dict) -> None:  # type: ignore[type-arg]
    """An entry under 1.0.0 that holds 2.0.0's data (the wrong-version attack)."""
    dist = only_entry(index["releases"]["1.0.0"])
    dist.update(version="2.0.0", filename="present-2.0.0-py3-none-any.whl")


def root_doc(data: bytes) -> Callable[[Ctx], Run]:
    def setup(ctx: Ctx) -> Run:
        ctx.put("packages/index.json", data)
        return Run(["verify"], shows="bad-root: packages/index.json")

    return setup


def record_doc(change: Callable[[dict], object], command: list[str]) -> Callable[[Ctx], Run]:  # type: ignore[type-arg]
    def setup(ctx: Ctx) -> Run:
        key = "packages/present/releases/1.0.0/present-1.0.0-py3-none-any.whl.json"
        record = json.loads(ctx.storage.get(key).data)
        result = change(record)
        data = result if isinstance(result, bytes) else json.dumps(record if result is None else result).encode()
        ctx.put(key, data)
        return Run(command)

    return setup


def v1_record(ctx: Ctx) -> Run:
    """A format 1 record beside the file record, describing another version than its key."""
    dist = dict(only_entry(ctx.index()["releases"]["1.0.0"]))
    dist["wheel_name"] = dist.pop("filename")
    dist["published"] = dist.pop("upload_time")
    dist["version"] = "2.0.0"
    ctx.put("packages/present/releases/1.0.0.json", json.dumps({"format": 1, "release": dist}).encode())
    return Run(["verify"], shows="bad-record: packages/present/releases/1.0.0.json")


def root_lacks_package(ctx: Ctx) -> Run:
    ctx.put("packages/index.json", json.dumps({"format": 1, "packages": {}}).encode())
    return Run(["verify"], shows="unlisted-package: packages/index.json: present has versions but is not in the root list")


def hint_missing(ctx: Ctx) -> Run:
    """dep is published here and present 2.0.0 depends on it, but the index lacks the hint."""
    repo = ctx.repo.open()
    publish_file(repo, make_wheel(ctx.tmp / "dep", "dep", "1.0.0"))
    publish_file(repo, make_wheel(ctx.tmp / "present2", "present", "2.0.0", requires=["dep>=1"]))
    index = ctx.index()
    index["releases"]["2.0.0"]["private_requires"] = []
    ctx.put("packages/present/index.json", json.dumps(index).encode())
    return Run(["verify"], shows="missing-hint: packages/present/index.json: present 2.0.0 depends on dep")


def garbage_page(ctx: Ctx) -> Run:
    ctx.put("simple/present/index.html", b"<script>alert(1)</script>")
    return Run(["verify"], shows="stale-page: simple/present/index.html")


def edited_requires(ctx: Ctx) -> Run:
    """The index adds a dependency its wheel (sha256 verified) does not declare."""
    entry(lambda d: d.update(requires_dist=["present-helper>=1"]))(index := ctx.index())
    ctx.put("packages/present/index.json", json.dumps(index).encode())
    return Run(["download", "present", "-d", str(ctx.tmp / "dl")])


def hostile_stored_wheel(add: Callable[[zipfile.ZipFile], None]) -> Callable[[Ctx], Run]:
    """The bucket serves, consistently indexed, a wheel with a hostile member; download must refuse it."""

    def setup(ctx: Ctx) -> Run:
        import hashlib

        wheel = make_wheel(ctx.tmp / "hostile", "present", "1.0.0")
        with zipfile.ZipFile(wheel, "a") as archive:
            add(archive)
        data = wheel.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        index = ctx.index()
        dist = only_entry(index["releases"]["1.0.0"])
        dist.update(sha256=digest, size=len(data), metadata_sha256=None)
        ctx.put(f"packages/present/files/{digest}/{dist['filename']}", data)
        ctx.put("packages/present/index.json", json.dumps(index).encode())
        return Run(["download", "present==1.0.0", "-d", str(ctx.tmp / "dl")])

    return setup


def add_member(name: str | zipfile.ZipInfo, data: bytes = b"x") -> Callable[[zipfile.ZipFile], None]:
    def add(archive: zipfile.ZipFile) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about a duplicate name it is told to write
            archive.writestr(name, data)

    return add


def symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def legacy_bundle(meta_change: Callable[[dict], object] | None = None, data: bytes | None = None) -> Callable[[Ctx], Run]:  # type: ignore[type-arg]
    """A pipper 0.x bundle in the bucket (``legacy/v1-0-0.pipper``), hostile; ``download legacy`` reads it."""

    def setup(ctx: Ctx) -> Run:
        if data is not None:
            blob = data
        else:
            wheel = make_wheel(ctx.tmp / "legacy", "legacy", "1.0.0")
            meta = {"name": "legacy", "version": "1.0.0", "wheel_name": wheel.name, "safe_version": "v1-0-0",
                    "timestamp": "2020-01-01T00:00:00", "dependencies": []}
            result = meta_change(meta) if meta_change else None
            meta_bytes = result if isinstance(result, bytes) else json.dumps(meta).encode()
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr(META, meta_bytes)
                archive.writestr(WHEEL, wheel.read_bytes())
            blob = buffer.getvalue()
        ctx.put("legacy/v1-0-0.pipper", blob)
        return Run(["download", "legacy", "-d", str(ctx.tmp / "dl")])

    return setup


def legacy_folder(ctx: Ctx) -> Run:
    """A 0.x folder that is no package name: migrate reports it, migrates nothing, writes nothing."""
    ctx.put("bad name!/v1-0-0.pipper", b"whatever")
    return Run(["migrate"])


# -- hostile archives given on the command line -----------------------------------------------------


def hostile_wheel(add: Callable[[zipfile.ZipFile], None], command: str = "publish") -> Callable[[Ctx], Run]:
    def setup(ctx: Ctx) -> Run:
        wheel = make_wheel(ctx.tmp / "files", "present", "2.0.0")
        with zipfile.ZipFile(wheel, "a") as archive:
            add(archive)
        return Run(["publish", str(wheel)] if command == "publish" else ["install", str(wheel), "--dry-run"])

    return setup


def bomb_member(archive: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo("present/zeros.bin")
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, bytes(32 * 1024 * 1024))


def wheel_metadata(metadata: str) -> Callable[[Ctx], Run]:
    """A wheel whose METADATA is hostile (written by hand: the file name and WHEEL file are right)."""

    def setup(ctx: Ctx) -> Run:
        info = "present-2.0.0.dist-info"
        path = ctx.tmp / "files" / "present-2.0.0-py3-none-any.whl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(f"{info}/METADATA", metadata)
            archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            archive.writestr(f"{info}/RECORD", "")
        return publish(str(path))

    return setup


def hostile_sdist(members: list[tuple[str, bytes | None]], links: dict[str, tuple[bytes, str]] | None = None) -> Callable[[Ctx], Run]:
    def setup(ctx: Ctx) -> Run:
        from .helpers import tar_gz

        return publish(ctx.file("present-2.0.0.tar.gz", tar_gz(members, links=links)))

    return setup


SDIST_INFO = b"Metadata-Version: 2.2\nName: present\nVersion: 2.0.0\nSummary: s\n"
STEM = "present-2.0.0"


def dup_meta(ctx: Ctx) -> Run:
    meta, wheel, _ = ctx.good()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name it is told to write
        return publish(ctx.forge([(META, json.dumps(meta).encode()), (WHEEL, wheel), (META, b"{}")]))


# -- hostile command lines, files and config ---------------------------------------------------------


def write_file(name: str, data: bytes, command: list[str]) -> Callable[[Ctx], Run]:
    """A file made first; ``{file}`` in ``command`` is its path, ``{dl}`` the download target."""

    def setup(ctx: Ctx) -> Run:
        path = ctx.file(name, data)
        return Run([part.replace("{file}", path).replace("{dl}", str(ctx.tmp / "dl")) for part in command])

    return setup


def dest_is_file(ctx: Ctx) -> Run:
    path = ctx.file("a-file", b"mine")
    return Run(["download", "present", "-d", path])


def dest_under_file(ctx: Ctx) -> Run:
    path = ctx.file("a-file", b"mine")
    return Run(["download", "present", "-d", f"{path}/sub"])


def preauthorized(change: Callable[[dict], object]) -> Callable[[Ctx], Run]:  # type: ignore[type-arg]
    """A pre-authorized file (as `pipper authorize` writes) edited by ``change``, given to download -i."""

    def setup(ctx: Ctx) -> Run:
        dist = dict(only_entry(ctx.index()["releases"]["1.0.0"]))
        doc = {"format": "pipper-preauthorized", "format_version": 2, "created": "2030-01-01T00:00:00Z",
               "expires": "2030-01-01T01:00:00Z", "repository": "s3://b/p", "requested": ["present"], "pre": False,
               "packages": [{**dist, "url": "https://example.invalid/x.whl", "expires": "2999-01-01T00:00:00Z"}]}
        result = change(doc)
        path = ctx.file("preauth.json", result if isinstance(result, bytes) else json.dumps(doc).encode())
        return Run(["download", "-i", path, "-d", str(ctx.tmp / "dl")], bucket=False)

    return setup


def package_entry(change: Callable[[dict], object]) -> Callable[[dict], None]:  # type: ignore[type-arg]
    return lambda doc: [change(doc["packages"][0]), None][1]


def config_entry(entry: dict, name: str = "team") -> Callable[[Ctx], Run]:  # type: ignore[type-arg]
    return config(json.dumps({"version": 1, "repositories": {name: entry}}).encode())


KEY, SECRET, TOKEN = "AKIAHARDENTESTKEY123", "hardenSecretValue0123456789abcdefghijklm", "ShortSessTok123"


def secrets_vvv(command: list[str], form: str = "words", bucket: bool = False) -> Callable[[Ctx], Run]:
    """``command -vvv`` with -c KEY SECRET TOKEN (a token too short to be recognised as one) against a
    bucket that does not exist (or, with ``bucket``, the test's): the secrets appear nowhere in stdout or
    stderr, the traceback included."""

    def setup(ctx: Ctx) -> Run:
        creds = ["-c", KEY, SECRET, TOKEN] if form == "words" else ["-c", f"{KEY}:{SECRET}:{TOKEN}"]
        args = [part.replace("{dl}", str(ctx.tmp / "dl")) for part in command]
        where = [] if bucket else ["-b", "s3://no-such-bucket-for-pipper/p"]
        return Run([*args, "-vvv", *where, *creds], bucket=bucket, verbose=True, secrets=(KEY, SECRET, TOKEN))

    return setup


def secrets_in_config(command: list[str]) -> Callable[[Ctx], Run]:
    """The secrets stored in the config file (-r), the command run with -vvv: none of them printed."""

    def setup(ctx: Ctx) -> Run:
        folder = ctx.tmp / "config"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps({"version": 1, "repositories": {"team": {
            "bucket": "s3://no-such-bucket-for-pipper/p", "access_key_id": KEY, "secret_access_key": SECRET,
            "session_token": TOKEN}}}))
        args = [part.replace("{dl}", str(ctx.tmp / "dl")) for part in command]
        return Run([*args, "-vvv", "-r", "team"], env={"PIPPER_CONFIG_DIR": str(folder)}, bucket=False, verbose=True,
                   secrets=(KEY, SECRET, TOKEN))

    return setup


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
    ("bundle-meta-missing-version", meta_change(lambda m: m.__delitem__("version")), "'version' is missing"),
    ("bundle-meta-bad-version", meta_change(lambda m: m.update(version="one.two")), "is not a PEP 440 version"),
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
    # hostile package indexes (format 2)
    ("index-deeply-nested", broken_index(nested(100_000)), "nested more than 32 levels"),
    ("index-deeply-nested-download", broken_index(nested(5000), DOWNLOAD), "nested more than 32 levels"),
    ("index-huge-integer", broken_index(b'{"format": 2, "name": "present", "releases": {}, "x": ' + b"9" * 5000 + b"}"),
     "not valid JSON"),
    ("index-not-utf8", broken_index(b'\xff\xfe{\x00"'), "not valid JSON"),
    ("index-format-bool", index_doc(lambda i: i.update(format=True)), "not a pipper document"),
    ("index-name-mismatch", index_doc(lambda i: i.update(name="other")), "not the normalized name"),
    ("index-display-name-long", index_doc(lambda i: i.update(display_name="P" * 300)), "longer than 200"),
    ("index-files-list", index_doc(lambda i: i["releases"]["1.0.0"].update(files=[])), "'files' must be a JSON object"),
    ("index-release-no-files", index_doc(lambda i: i["releases"]["1.0.0"].update(files={})), "a release without files"),
    ("index-filename-slip", index_doc(entry(lambda d: d.update(filename="../../present-1.0.0-py3-none-any.whl")),
                                      DOWNLOAD), "is not a wheel or sdist file name"),
    ("index-filename-platform-slip", index_doc(entry(lambda d: d.update(filename="present-1.0.0-py3-none-../../x.whl")),
                                               DOWNLOAD), "is not a wheel or sdist file name"),
    ("index-filename-markup", index_doc(entry(lambda d: d.update(filename="present-1.0.0-py3-none-<fg=bogus>.whl"))),
     "is not a wheel or sdist file name"),
    ("index-sha256-is-a-path", index_doc(entry(lambda d: d.update(sha256="/tmp/x" + "/" * 58)), DOWNLOAD),
     "is not a sha256"),
    ("index-sha256-uppercase", index_doc(entry(lambda d: d.update(sha256=d["sha256"].upper())), DOWNLOAD),
     "is not a sha256"),
    ("index-wrong-version", index_doc(two_versions_in_one, ["download", "present==1.0.0", "-d", "{dl}"]), "describes"),
    ("index-size-string", index_doc(entry(lambda d: d.update(size="12"))), "'size' must be a whole number"),
    ("index-size-bool", index_doc(entry(lambda d: d.update(size=True))), "'size' must be a whole number"),
    ("index-size-negative", index_doc(entry(lambda d: d.update(size=-1))), "'size' must be at least 0"),
    ("index-size-nan", index_doc(entry(lambda d: d.update(size=float("nan")))), "'size' must be a whole number"),
    ("index-requires-dist-string", index_doc(entry(lambda d: d.update(requires_dist="dep>=1")), DOWNLOAD),
     "'requires_dist' must be a list of strings"),
    ("index-requires-dist-not-pep508", index_doc(entry(lambda d: d.update(requires_dist=["!!!"])), DOWNLOAD),
     "not a PEP 508 requirement"),
    ("index-requires-dist-nested", index_doc(entry(lambda d: d.update(requires_dist=[["dep"]])), DOWNLOAD),
     "must be a list of strings"),
    ("index-hint-not-normalized", index_doc(lambda i: i["releases"]["1.0.0"].update(private_requires=["Not Normal"])),
     "not a normalized project name"),
    ("index-yanked-string", index_doc(entry(lambda d: d.update(yanked="yes"))), "'yanked' must be true or false"),
    ("index-upload-time-garbage", index_doc(entry(lambda d: d.update(upload_time="yesterday"))), "not an RFC 3339 time"),
    ("index-summary-huge", index_doc(entry(lambda d: d.update(summary="s" * 5000))), "longer than 2000"),
    ("index-edited-requires-dist", edited_requires, "the index disagrees with present-1.0.0-py3-none-any.whl"),
    ("index-edited-requires-python", index_doc(entry(lambda d: d.update(requires_python=">=3.0")), DOWNLOAD),
     "Requires-Python"),
    # hostile package indexes (format 1)
    ("index-v1-wheel-name-slip", index_doc(as_format_1(lambda i: i["releases"]["1.0.0"].update(
        wheel_name="../present-1.0.0-py3-none-any.whl")), DOWNLOAD), "is not a wheel or sdist file name"),
    ("index-v1-sha256-path", index_doc(as_format_1(lambda i: i["releases"]["1.0.0"].update(sha256="/" * 64)), DOWNLOAD),
     "is not a sha256"),
    ("index-v1-wrong-version", index_doc(as_format_1(lambda i: i["releases"]["1.0.0"].update(
        version="2.0.0", wheel_name="present-2.0.0-py3-none-any.whl")),
                                         ["download", "present==1.0.0", "-d", "{dl}"]), "describes version 2.0.0"),
    ("index-v1-requires-dist-string", index_doc(as_format_1(lambda i: i["releases"]["1.0.0"].update(requires_dist="x")),
                                                DOWNLOAD), "must be a list of strings"),
    # the root list, records, pages: verify reports each (read-only, exit 1)
    ("root-not-json", root_doc(b"{nope"), "problem"),
    ("root-deeply-nested", root_doc(nested(10_000)), "problem"),
    ("root-entry-mismatch", root_doc(json.dumps({"format": 1, "packages": {"present": "Other"}}).encode()), "problem"),
    ("root-lacks-package", root_lacks_package, "problem"),
    ("hint-missing", hint_missing, "problem"),
    ("page-garbage", garbage_page, "problem"),
    ("record-v1-wrong-version", v1_record, "problem"),
    ("record-not-json-yank", record_doc(lambda r: b"", ["yank", "present:1.0.0"]), "not valid JSON"),
    ("record-other-file-yank", record_doc(lambda r: r["file"].update(filename="present-1.0.0-py2-none-any.whl"),
                                          ["yank", "present:1.0.0"]), "as its key says"),
    ("record-deeply-nested-delete", record_doc(lambda r: {"file": json.loads(nested(40))}, ["yank", "present:1.0.0"]),
     "nested more than"),
    # hostile files the bucket serves, consistently indexed (download refuses before saving anything)
    ("stored-wheel-dotdot-member", hostile_stored_wheel(add_member("../../evil.pth")), "has a '..' component"),
    ("stored-wheel-absolute-member", hostile_stored_wheel(add_member("/etc/evil")), "is an absolute path"),
    ("stored-wheel-symlink-member", hostile_stored_wheel(add_member(symlink_info("present/link"), b"/etc/passwd")),
     "is a symlink"),
    ("stored-wheel-bomb", hostile_stored_wheel(bomb_member), "suspicious compression ratio"),
    # pipper 0.x bundles in the bucket
    ("legacy-wheel-name-slip", legacy_bundle(lambda m: m.update(wheel_name="legacy-1.0.0-py3-none-../../../x.whl")),
     "is not a valid wheel file name"),
    ("legacy-meta-nested", legacy_bundle(lambda m: nested(1000)), "nested more than"),
    ("legacy-meta-dependencies-string", legacy_bundle(lambda m: m.update(dependencies="evil")), "must be a list of strings"),
    ("legacy-not-a-zip", legacy_bundle(data=b"not a zip"), "not a .pipper bundle"),
    ("legacy-folder-not-a-name", legacy_folder, "could not be migrated"),
    # hostile archives on the command line
    ("bundle-duplicate-member", dup_meta, "appears twice"),
    ("bundle-meta-nested", meta_change(lambda m: json.loads(nested(40))), "nested more than"),
    ("bundle-meta-platform-slip", meta_change(lambda m: m.update(wheel_name="present-2.0.0-py3-none-../../x.whl")),
     "is not a valid wheel file name"),
    ("bundle-meta-requires-string", meta_change(lambda m: m.update(requires_dist="x")), "must be a list of strings"),
    ("bundle-meta-size-string", meta_change(lambda m: m.update(size="1")), "must be a whole number"),
    ("bundle-meta-name-markup", meta_change(lambda m: m.update(name="<fg=bogus>")), "is not a valid project name"),
    ("wheel-dotdot-member", hostile_wheel(add_member("../evil.pth")), "has a '..' component"),
    ("wheel-absolute-member", hostile_wheel(add_member("/tmp/evil")), "is an absolute path"),
    ("wheel-backslash-member", hostile_wheel(add_member("present\\..\\..\\evil")), "not a plain relative path"),
    ("wheel-symlink-member", hostile_wheel(add_member(symlink_info("present/link"), b"../../etc")), "is a symlink"),
    ("wheel-duplicate-member", hostile_wheel(add_member("present/__init__.py")), "appears twice"),
    ("wheel-bomb-member", hostile_wheel(bomb_member), "suspicious compression ratio"),
    ("install-wheel-dotdot-member", hostile_wheel(add_member("../evil.pth"), "install"), "has a '..' component"),
    ("wheel-metadata-bad-requires", wheel_metadata("Metadata-Version: 2.1\nName: present\nVersion: 2.0.0\n"
                                                   "Requires-Dist: !!!nope\n"), "unreadable METADATA"),
    ("wheel-metadata-bad-python", wheel_metadata("Metadata-Version: 2.1\nName: present\nVersion: 2.0.0\n"
                                                 "Requires-Python: >>>3\n"), "unreadable METADATA"),
    ("wheel-metadata-url-dependency", wheel_metadata("Metadata-Version: 2.1\nName: present\nVersion: 2.0.0\n"
                                                     "Requires-Dist: evil @ http://h/evil.tar.gz\n"), "direct URL reference"),
    ("wheel-summary-huge", wheel_metadata("Metadata-Version: 2.1\nName: present\nVersion: 2.0.0\n"
                                          f"Summary: {'s' * 3000}\n"), "'summary' is longer than 2000"),
    ("sdist-dotdot-member", hostile_sdist([(STEM, None), (f"{STEM}/PKG-INFO", SDIST_INFO), (f"{STEM}/../evil", b"x")]),
     "has a '..' component"),
    ("sdist-absolute-member", hostile_sdist([(STEM, None), (f"{STEM}/PKG-INFO", SDIST_INFO), ("/etc/evil", b"x")]),
     "is an absolute path"),
    ("sdist-symlink-outside", hostile_sdist([(STEM, None), (f"{STEM}/PKG-INFO", SDIST_INFO), (f"{STEM}/l", None)],
                                            {f"{STEM}/l": (b"2", "../../etc")}), "pointing outside"),
    ("sdist-duplicate-member", hostile_sdist([(STEM, None), (f"{STEM}/PKG-INFO", SDIST_INFO), (f"{STEM}/PKG-INFO", SDIST_INFO)]),
     "appears twice"),
    # hostile command lines
    ("endpoint-not-a-url", simple("info", "present", "--endpoint-url", "notaurl"), "invalid S3 endpoint"),
    ("endpoint-bad-port", simple("info", "present", "--endpoint-url", "http://127.0.0.1:port"), "invalid S3 endpoint"),
    ("endpoint-env-not-a-url", lambda c: Run(["info", "present"], env={"AWS_ENDPOINT_URL": "ftp://x"}), "invalid S3 endpoint"),
    ("region-with-space", simple("info", "present", "--region", "us east 1"), "invalid region"),
    ("location-file-url-nul", lambda c: Run(["info", "present", "-b", "file:///x%00y"], bucket=False), "control characters"),
    ("dest-is-a-file", dest_is_file, "is a file, not a directory"),
    ("dest-under-a-file", dest_under_file, "cannot use"),
    ("spec-name-10k", simple("download", "x" * 10_000), "at most 200"),
    ("spec-too-long", simple("download", "present:" + ",".join(f"!={i}.0" for i in range(2000))), "characters long"),
    ("spec-too-many-clauses", simple("download", "present>=1," + ",".join(f"!=0.{i}" for i in range(150))),
     "more than 100 version clauses"),
    ("spec-file-150k", write_file("pipper.json", json.dumps({"dependencies": ["present"] * 150_000}).encode(),
                                  ["download", "-i", "{file}", "-d", "{dl}"]), "at most 10000"),
    ("spec-file-nested", write_file("pipper.json", nested(100_000), ["download", "-i", "{file}"]), "nested more than"),
    ("spec-file-directory", lambda c: Run(["download", "-i", str(c.tmp)]), "is a directory"),
    ("spec-markup", simple("info", "<fg=bogus>x</>"), "invalid package name"),
    ("spec-escape", simple("info", "x\x1b[2Jy"), "invalid package name"),
    ("command-markup", lambda c: Run(["inf<fg=bogus>"], bucket=False), "does not exist"),
    ("option-markup", simple("info", "present", "--b<fg=bogus>"), "does not exist"),
    ("duration-markup", simple("authorize", "present", "-e", "<fg=bogus>"), "invalid duration"),
    ("credentials-control-chars", simple("info", "present", "-c", "AKIAAAAAAAAAAAAAAAAA", "bad\x01secretvalue"),
     "holds spaces or control characters"),
    # pre-authorized files (-i), edited
    ("preauth-nested", preauthorized(lambda d: b'{"format": "pipper-preauthorized", "x": ' + nested(100) + b"}"),
     "nested more than"),
    ("preauth-url-javascript", preauthorized(package_entry(lambda p: p.update(url="javascript:alert(1)"))),
     "has no http(s) URL"),
    ("preauth-filename-slip", preauthorized(package_entry(lambda p: p.update(filename="../present-1.0.0-py3-none-any.whl"))),
     "is not a wheel or sdist file name"),
    ("preauth-sha256-path", preauthorized(package_entry(lambda p: p.update(sha256="/" * 64))), "is not a sha256"),
    ("preauth-format-version-bool", preauthorized(lambda d: d.update(format_version=True)), "without a format_version"),
    ("preauth-requested-not-strings", preauthorized(lambda d: d.update(requested=[1])), "must be a list of strings"),
    # the config file
    ("config-deeply-nested", config(nested(100_000)), "nested more than"),
    ("config-endpoint-not-a-url", config_entry({"bucket": "s3://bucket-one/p", "endpoint_url": "notaurl"}),
     "invalid endpoint_url"),
    ("config-profile-escape", config_entry({"bucket": "s3://bucket-one/p", "profile": "p\x1b[2J"}),
     "holds control characters"),
    ("config-bucket-nul", config_entry({"bucket": "file:///x%00y"}), "control characters"),
    ("config-bad-name", config_entry({"bucket": "s3://bucket-one/p"}, name="<fg=bogus>"), "invalid repository name"),
    # secrets: -vvv on every kind of command, -c with a session token too short to be recognised as one
    *((f"secrets-vvv-{cmd[0]}", secrets_vvv(cmd), "") for cmd in (
        ["info", "present"], ["download", "present", "-d", "{dl}"], ["install", "present", "--dry-run"],
        ["yank", "present:1.0.0"], ["unyank", "present:1.0.0"], ["delete", "present:1.0.0", "--yes"], ["verify"],
        ["reindex"], ["migrate"], ["authorize", "present"])),
    ("secrets-vvv-publish", lambda c: secrets_vvv(["publish", str(make_wheel(c.tmp / "files", "present", "3.0.0"))],
                                                  form="colon")(c),
     "does not exist"),
    ("secrets-vvv-colon-form", secrets_vvv(["info", "present"], form="colon"), "does not exist"),
    ("secrets-vvv-token-as-package", secrets_vvv(["download"], bucket=True), "hidden: it follows -c KEY SECRET"),
    ("secrets-vvv-config-info", secrets_in_config(["info", "present"]), "does not exist"),
    ("secrets-vvv-config-verify", secrets_in_config(["verify"]), "does not exist"),
]


def snapshot(repo: RepoUnderTest) -> dict[str, str]:
    assert repo.server is not None
    client = repo.server.client()
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=repo.bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"]
    return found


def disk(root: Path, allowed: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` but the allowed places: path -> (size, mtime)."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not any(path == a or a in path.parents for a in allowed):
            info = path.stat()
            found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return found


@pytest.mark.parametrize(("setup", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(s3_repo: RepoUnderTest, tmp_path: Path, setup: Callable[[Ctx], Run], expected: str) -> None:
    ctx = Ctx(s3_repo, tmp_path)
    wheel = make_wheel(tmp_path / "present", "present", "1.0.0")
    publish_file(s3_repo.open(), make_bundle(wheel, tmp_path / "present-bundle")[0])
    run = setup(ctx)
    before = snapshot(s3_repo)
    # A private home, cache and working directory: the only places a failing command may write are the
    # download target (left empty) and pipper's own wheel cache (verified bytes, keyed by sha256).
    work, target, cache = tmp_path / "work", tmp_path / "dl", tmp_path / "home" / "cache"
    work.mkdir()
    sandbox = {"HOME": str(tmp_path / "home"), "PIPPER_CACHE_DIR": str(cache), "XDG_CONFIG_HOME": str(tmp_path / "home"),
               "PIPPER_CONFIG_DIR": str(tmp_path / "home" / "config")}
    files_before = disk(tmp_path, (target, cache))
    args = [*run.args, "-b", s3_repo.url] if run.bucket else run.args
    result = s3_repo.cli(*args, env={**sandbox, **run.env}, cwd=work)
    if run.verbose:
        assert result.code == 1, result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        line = lines[-1]
        assert line.startswith("error: "), result.stderr
    else:
        line = result.assert_one_line_error()
    assert expected in line, line
    assert run.shows in result.stdout, result.stdout
    for secret in run.secrets:  # not even lowercased, as a package name would be shown
        assert secret.lower() not in result.output.lower(), (secret, result.output)
    assert "\x1b" not in result.output, result.output  # no terminal escape reaches the terminal (--no-ansi)
    assert snapshot(s3_repo) == before
    assert not target.exists() or not list(target.iterdir())
    assert disk(tmp_path, (target, cache)) == files_before


def test_the_corpus_is_big_enough() -> None:
    print(f"bad-input corpus: {len(CASES)} cases")
    assert len(CASES) >= 140
    assert len({c[0] for c in CASES}) == len(CASES)
