"""Fuzzing the CLI with hostile bucket documents and arguments (hypothesis), in-process on a local repository.

Properties: the exit code is 0 or 1, never "unexpected <Exception>", never a traceback; a failure is
one ``error:`` line; and a garbage *derived* document (an index, the root list, a page) is always
repaired by ``pipper reindex``, after which ``pipper verify`` finds no drift.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poetry_pipper.cli import main
from poetry_pipper.publish import publish_file

from .helpers import make_wheel

#: Strings an attacker would try: markup, escapes, paths, huge numbers, odd Unicode.
NASTY = [
    "<fg=bogus>x</>", "</info>", "<error>", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "a\rb", "a\nb", "\x00",
    "\u202eevil", "../../etc/passwd", "/tmp/x" + "/" * 58, "C:\\x", "%00", "present", "Present_Pkg", "1.0.0",
    "2.0.0", "present-1.0.0-py3-none-any.whl", "present-1.0.0-py3-none-../../x.whl", "evil @ http://h/e.tar.gz",
    "0" * 64, "g" * 64, "x" * 300, "é", "", " ", "-1", "1e400", "NaN", ">=1,<2", "present[extra]", "*",
]
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                      st.sampled_from(NASTY), st.text(max_size=30))
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                              st.dictionaries(st.sampled_from(NASTY) | st.text(max_size=8),
                                                                              inner, max_size=4)), max_leaves=12)
FUZZ = settings(max_examples=int(os.environ.get("PIPPER_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local repository: present 1.0.0 and 2.0.0 (which depends on dep), dep 1.0.0."""
    base = tmp_path_factory.mktemp("fuzz")
    repo = base / "repo"
    from poetry_pipper.location import parse_location
    from poetry_pipper.repository import open_repository

    opened = open_repository(parse_location(str(repo)))
    for name, version, requires in (("dep", "1.0.0", []), ("present", "1.0.0", []), ("present", "2.0.0", ["dep>=1"])):
        publish_file(opened, make_wheel(base / "wheels", name, version, requires=requires))
    return repo


@contextmanager
def workspace(template: Path) -> Iterator[Path]:
    """A fresh copy of the repository, and private cache and config directories."""
    with tempfile.TemporaryDirectory(prefix="pipper-fuzz-") as tmp:
        root = Path(tmp)
        shutil.copytree(template, root / "repo")
        saved = {k: os.environ.get(k) for k in ("PIPPER_CACHE_DIR", "PIPPER_CONFIG_DIR")}
        os.environ["PIPPER_CACHE_DIR"] = str(root / "cache")
        os.environ["PIPPER_CONFIG_DIR"] = str(root / "config")
        cwd = Path.cwd()
        (root / "work").mkdir()
        os.chdir(root / "work")  # `bundle`/`publish` without a path look here: never at the worktree
        try:
            yield root
        finally:
            os.chdir(cwd)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def run(*args: str) -> tuple[int, str, str]:
    """``pipper`` (its very ``main``, redaction included) in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(["--no-ansi", *args], stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def check(code: int, stdout: str, stderr: str, what: object) -> None:
    assert code in (0, 1), (what, code, stdout, stderr)
    assert "unexpected" not in stderr and "Traceback" not in stdout + stderr, (what, stderr)
    assert "\x1b" not in stdout + stderr, (what, stdout, stderr)  # --no-ansi: no escape sequence at all
    if code == 1:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert lines and lines[-1].startswith("error: "), (what, stderr)
        assert all(line.startswith(("error: ", "warning: ")) for line in lines), (what, stderr)


def mutate(document: Any, path: list[Any], value: Any, delete: bool) -> Any:
    """``document`` with the value at ``path`` (keys or indexes, followed as far as they go) replaced."""
    if not path or not isinstance(document, dict | list) or not document:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        key = sorted(document)[head % len(document)]
        copy = dict(document)
        if delete and not rest:
            del copy[key]
        else:
            copy[key] = mutate(document[key], rest, value, delete)
        return copy
    index = head % len(document)
    copy = list(document)
    copy[index] = mutate(document[index], rest, value, delete)
    return copy


MUTATION = st.tuples(st.lists(st.integers(0, 50), min_size=1, max_size=7), JSON_VALUE, st.booleans())
DERIVED = ["packages/present/index.json", "packages/dep/index.json", "packages/index.json"]
COMMANDS = [
    ["info", "present"], ["info", "dep", "--json"], ["install", "present", "--dry-run"],
    ["download", "present", "-d", "{tmp}/dl"], ["download", "present==1.0.0", "-e", "-d", "{tmp}/dl"],
    ["yank", "present:1.0.0", "--reason", "<fg=bogus>"], ["delete", "present:1.0.0", "--yes"], ["verify"],
]


@FUZZ
@given(key=st.sampled_from(DERIVED), mutation=MUTATION, command=st.sampled_from(COMMANDS))
def test_hostile_derived_documents(template: Path, key: str, mutation: tuple[list[int], Any, bool],
                                   command: list[str]) -> None:
    """A garbage index or root list: every command gives 0 or one line; reindex repairs it, then verify is clean."""
    path, value, delete = mutation
    with workspace(template) as tmp:
        target = tmp / "repo" / key
        document = json.loads(target.read_bytes())
        target.write_text(json.dumps(mutate(document, path, value, delete)))
        args = [a.format(tmp=tmp) for a in command]
        check(*run(*args, "-b", str(tmp / "repo")), (key, mutation, command))
        code, out, err = run("reindex", "-b", str(tmp / "repo"))
        if code == 1 and "upgrade poetry-pipper" in err:
            return  # a document claiming a newer format is refused, never rewritten
        check(code, out, err, ("reindex", key, mutation))
        if command[0] in ("yank", "delete"):
            return  # a command that wrote records may legitimately leave drift only reindex fixes
        code, out, err = run("verify", "-b", str(tmp / "repo"))
        assert code == 0, (key, mutation, command, out, err)


@FUZZ
@given(mutation=MUTATION, command=st.sampled_from(COMMANDS))
def test_hostile_records(template: Path, mutation: tuple[list[int], Any, bool], command: list[str]) -> None:
    """A garbage release record (the truth): every command, reindex and verify give 0 or one line."""
    path, value, delete = mutation
    with workspace(template) as tmp:
        (record,) = (tmp / "repo" / "packages" / "present" / "releases" / "1.0.0").glob("*.json")
        record.write_text(json.dumps(mutate(json.loads(record.read_bytes()), path, value, delete)))
        args = [a.format(tmp=tmp) for a in command]
        for each in (args, ["reindex"], ["verify"]):
            check(*run(*each, "-b", str(tmp / "repo")), (mutation, each))


ARG = st.one_of(st.sampled_from(NASTY), st.sampled_from([
    "-b", "-r", "-c", "-p", "-d", "-i", "-e", "-o", "-t", "--endpoint-url", "--region", "--json", "--pre", "-u",
    "--dry-run", "--reason", "--file", "--yes", "--python-version", "--platform", "--abi", "--implementation",
    "--only-binary", "--format", "notaurl", "http://h:port", "file:///x%00y", "s3://Bad_Bucket/x", "{repo}",
    "{file}", "{dir}", "present:1.0.0", "present:>=1,<3", "dep", "3.12", "manylinux_2_28_x86_64", "cp312", "cp",
    "AKIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "shortsessiontoken123",
]), st.text(max_size=12))


@FUZZ
@given(command=st.sampled_from(["info", "download", "install", "yank", "unyank", "delete", "verify", "reindex",
                                "repository", "authorize", "publish", "bundle", "migrate"]),
       args=st.lists(ARG, max_size=7))
def test_hostile_arguments(template: Path, command: str, args: list[str]) -> None:
    """Any arguments: 0 or one line, never a crash, and a -c secret never echoed."""
    with workspace(template) as tmp:
        (tmp / "a-file").write_text("not a directory")
        (tmp / "dir").mkdir()
        filled = [a.format(repo=tmp / "repo", file=tmp / "a-file", dir=tmp / "dir")
                  if a in ("{repo}", "{file}", "{dir}") else a for a in args]
        if command == "install" and "--dry-run" not in filled:
            filled.append("--dry-run")  # never run pip on the machine running the tests
        if command == "bundle" and not any(a.startswith("-") for a in filled):
            filled.append("--json")
        code, out, err = run(command, *filled, "-b", str(tmp / "repo")) if command not in ("repository", "bundle") \
            else run(command, *filled)
        check(code, out, err, (command, filled))
        given = {w for i, word in enumerate(filled) if word == "-c" for w in filled[i + 1:i + 4]}
        for secret in ("wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "AKIAABCDEFGHIJKLMNOP", "shortsessiontoken123"):
            if secret in given:
                assert secret not in out + err, (command, filled, out, err)
