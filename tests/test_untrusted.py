"""The bucket is untrusted input: what readers do with hostile content that is *not* an error.

Markup and terminal escapes are shown as text, URL dependencies are left out with a warning (and
never handed to Poetry), a wheel whose METADATA disagrees with the index is refused, garbage derived
documents are repaired by ``reindex``, and an error after a write says what was written. The
error cases (one line, nothing written) are in test_bad_input.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from poetry_pipper.display import printable, safe, sanitize_line
from poetry_pipper.publish import publish_file

from .helpers import make_wheel
from .poetry_helpers import POETRY, Project, poetry_env, pyproject
from .servers import PublicIndex, RepoUnderTest

HOSTILE = "<fg=bogus>Boom</> \x1b[2J\x1b]0;owned\x07 </info><error>x\u202e"


def published(repo: RepoUnderTest, tmp_path: Path, *wheels: tuple[str, str, list[str]]) -> None:
    opened = repo.open()
    for name, version, requires in wheels:
        publish_file(opened, make_wheel(tmp_path / "wheels", name, version, requires=requires))


def edit(repo: RepoUnderTest, key: str, change) -> None:  # type: ignore[no-untyped-def]
    storage = repo.open().storage
    document = json.loads(storage.get(key).data)
    change(document)
    storage.put(key, json.dumps(document).encode())


def files_of(document: dict) -> list[dict]:  # type: ignore[type-arg]
    if "file" in document:  # a file record
        return [document["file"]]
    return [f for release in document["releases"].values() for f in release["files"].values()]


# -- escaping -----------------------------------------------------------------------------------


def test_display_helpers() -> None:
    assert printable("a\x1b[31mb\u202ec\nd") == "a\\x1b[31mb\\u202ec\\x0ad"
    assert printable("a\nb", keep_newlines=True) == "a\nb"
    assert safe("<fg=bogus>x\\") == "\\<fg=bogus>x\\ "
    # pipper's own tags stay, anything else is escaped; unbalanced tags are all shown as text
    assert sanitize_line("<info>ok</info> <fg=red>x</>") == "<info>ok</info> \\<fg=red>x\\</>"
    assert sanitize_line("<info>a</comment>") == "\\<info>a\\</comment>"
    assert sanitize_line("\\<fg=bogus>") == "\\<fg=bogus>"


def test_info_shows_hostile_names_and_reasons_as_text(repo: RepoUnderTest, tmp_path: Path) -> None:
    """A record and an index written directly, with markup and escapes: info works and prints them inert."""
    published(repo, tmp_path, ("present", "1.0.0", []))

    def hostile(document: dict) -> None:  # type: ignore[type-arg]
        for dist in files_of(document):
            dist.update(yanked=True, yanked_reason=HOSTILE, summary=HOSTILE)
        if "display_name" in document:
            document["display_name"] = HOSTILE[:150]

    edit(repo, "packages/present/index.json", hostile)
    edit(repo, "packages/present/releases/1.0.0/present-1.0.0-py3-none-any.whl.json", hostile)
    for args in (["info", "present"], ["info", "present", "--json"], ["info", "present", "--ansi"]):
        result = repo.cli(*args, "-b", repo.url).assert_ok()
        assert "\x1b[2J" not in result.output and "\x07" not in result.output and "\u202e" not in result.output
    text = repo.cli("info", "present", "-b", repo.url).assert_ok().stdout
    assert "<fg=bogus>Boom</>" in text and "\\x1b[2J" in text and "</info><error>x" in text
    shown = json.loads(repo.cli("info", "present", "--json", "-b", repo.url).assert_ok().stdout)
    assert shown["name"].startswith("<fg=bogus>Boom</> \\x1b[2J")
    # record and index say the same: once the page is rendered again from the edited index, no drift
    repo.cli("reindex", "-b", repo.url).assert_ok()
    repo.cli("verify", "-b", repo.url).assert_ok()


def test_yank_reason_with_markup_is_shown_as_given(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    published(local_repo, tmp_path, ("present", "1.0.0", []))
    result = local_repo.cli("yank", "present:1.0.0", "--reason", "<fg=bogus>use 2.0</>", "-b", local_repo.url).assert_ok()
    assert "(<fg=bogus>use 2.0</>)" in result.stdout
    assert "yanked: <fg=bogus>use 2.0</>" in local_repo.cli("info", "present", "-b", local_repo.url).assert_ok().stdout
    page = (Path(local_repo.url) / "simple" / "present" / "index.html").read_text()
    assert 'data-yanked="&lt;fg=bogus&gt;use 2.0&lt;/&gt;"' in page


def test_errors_quoting_the_command_line_are_inert(local_repo: RepoUnderTest) -> None:
    for args in (["info", "<fg=bogus>x"], ["inf<fg=bogus>"], ["info", "x", "--y<fg=bogus>"]):
        result = local_repo.cli(*args, "-b", local_repo.url)
        line = result.assert_one_line_error()
        assert "<fg" in line


# -- direct URL references and the wheel's METADATA -----------------------------------------------


URL_DEP = "evil @ http://127.0.0.1:9/evil.tar.gz"


def test_url_dependency_in_the_index_is_ignored_with_a_warning_then_refused(repo: RepoUnderTest, tmp_path: Path) -> None:
    published(repo, tmp_path, ("present", "1.0.0", []))
    edit(repo, "packages/present/index.json", lambda d: files_of(d)[0]["requires_dist"].append(URL_DEP))
    plan = repo.cli("install", "present", "--dry-run", "-b", repo.url).assert_ok()
    assert "warning: ignoring present 1.0.0's dependency 'evil @ http://127.0.0.1:9/evil.tar.gz'" in plan.stderr
    assert "evil" not in plan.stdout
    # Fetching the wheel shows the index lied: its own (sha256-verified) METADATA is the truth.
    result = repo.cli("download", "present", "-d", str(tmp_path / "dl"), "-b", repo.url)
    assert result.code == 1
    assert result.stderr.splitlines()[-1].startswith("error: present 1.0.0: the index disagrees with present-1.0.0")
    assert not (tmp_path / "dl").exists()
    report = repo.cli("verify", "-b", repo.url)
    assert "url-dependency: packages/present/index.json" in report.stdout and "entry-differs" in report.stdout
    repo.cli("reindex", "-b", repo.url).assert_ok()
    repo.cli("download", "present", "-d", str(tmp_path / "dl"), "-b", repo.url).assert_ok()


def test_record_that_disagrees_with_the_metadata_sidecar(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    """A record (the truth for reindex) edited to add a dependency: verify compares it with the sidecar."""
    published(local_repo, tmp_path, ("present", "1.0.0", []))
    key = "packages/present/releases/1.0.0/present-1.0.0-py3-none-any.whl.json"
    edit(local_repo, key, lambda d: d["file"]["requires_dist"].append("other>=1"))
    local_repo.cli("reindex", "-b", local_repo.url).assert_ok()  # the index now repeats the record
    report = local_repo.cli("verify", "-b", local_repo.url)
    assert report.code == 1
    assert "metadata-differs: packages/present/files/" in report.stdout
    assert "the record lists Requires-Dist 'other>=1', which its METADATA does not" in report.stdout
    assert "publish --force" in report.stderr


@pytest.mark.poetry
def test_poetry_never_gets_a_url_dependency(local_repo: RepoUnderTest, public_index: PublicIndex, tmp_path: Path) -> None:
    published(local_repo, tmp_path, ("present", "1.0.0", ["tinypublic>=1"]))
    edit(local_repo, "packages/present/index.json", lambda d: files_of(d)[0]["requires_dist"].append(URL_DEP))
    path = tmp_path / "app"
    path.mkdir()
    (path / "pyproject.toml").write_text(pyproject([("public", public_index.url + "/", "primary"),
                                                    ("private", Path(local_repo.url).as_uri(), "explicit")]))
    app = Project(path, poetry_env(tmp_path), POETRY)
    result = app.poetry("add", "present", "--source", "private", "--lock").assert_ok()
    assert "warning: ignoring present 1.0.0's dependency 'evil @ http://127.0.0.1:9/evil.tar.gz'" in result.stderr
    assert "evil" not in app.lock and 'name = "tinypublic"' in app.lock


# -- repair --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["packages/present/index.json", "packages/index.json", "simple/present/index.html",
                                 "simple/index.html"])
@pytest.mark.parametrize("garbage", [b"[" * 100_000, b"\xff\xfe\x00", b'{"format": 2, "name": "x", "releases": []}',
                                     b"<script>alert(1)</script>"])
def test_reindex_repairs_every_garbage_derived_document(local_repo: RepoUnderTest, tmp_path: Path, key: str,
                                                        garbage: bytes) -> None:
    published(local_repo, tmp_path, ("dep", "1.0.0", []), ("present", "1.0.0", ["dep>=1"]))
    local_repo.open().storage.put(key, garbage)
    assert local_repo.cli("verify", "-b", local_repo.url).code == 1
    repaired = local_repo.cli("reindex", "-b", local_repo.url).assert_ok()
    assert f"rewrote {key}" in repaired.stdout
    local_repo.cli("verify", "-b", local_repo.url).assert_ok()
    local_repo.cli("install", "present", "--dry-run", "-b", local_repo.url).assert_ok()


def test_reindex_restores_a_package_the_root_list_lacks_and_a_missing_hint(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    published(local_repo, tmp_path, ("dep", "1.0.0", []), ("present", "1.0.0", ["dep>=1"]))
    storage = local_repo.open().storage
    storage.put("packages/index.json", json.dumps({"format": 1, "packages": {"dep": "dep"}}).encode())
    edit(local_repo, "packages/present/index.json",
         lambda d: d["releases"]["1.0.0"].update(private_requires=[]))
    report = local_repo.cli("verify", "-b", local_repo.url)
    assert "unlisted-package: packages/index.json: present has versions but is not in the root list" in report.stdout
    assert "missing-hint: packages/present/index.json: present 1.0.0 depends on dep" in report.stdout
    local_repo.cli("reindex", "-b", local_repo.url).assert_ok()
    local_repo.cli("verify", "-b", local_repo.url).assert_ok()


# -- honest results --------------------------------------------------------------------------------


def test_publish_that_fails_after_its_record_says_it_was_published(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    """A garbage root list breaks the step after the commit point: the error says the file is published."""
    local_repo.open().storage.put("packages/index.json", b"{garbage")
    wheel = make_wheel(tmp_path / "w", "present", "1.0.0")
    line = local_repo.cli("publish", str(wheel), "-b", local_repo.url).assert_one_line_error()
    assert "present-1.0.0-py3-none-any.whl was published (its record was written)" in line
    assert "run `pipper reindex` to finish" in line
    local_repo.cli("reindex", "-b", local_repo.url).assert_ok()
    local_repo.cli("verify", "-b", local_repo.url).assert_ok()
    assert "1.0.0" in local_repo.cli("info", "present", "-b", local_repo.url).assert_ok().stdout


def test_publishing_a_directory_says_what_was_published_before_a_failure(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    make_wheel(dist, "aaa", "1.0.0")
    make_wheel(dist, "zzz", "1.0.0")
    published(local_repo, tmp_path / "other", ("zzz", "1.0.0", ["x"]))  # same file name, other bytes
    line = local_repo.cli("publish", str(dist), "-b", local_repo.url).assert_one_line_error()
    assert "already published with different content" in line
    assert "[before this failure: aaa-1.0.0-py3-none-any.whl (published)]" in line


def test_delete_that_fails_after_its_records_says_it_was_deleted(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    published(local_repo, tmp_path, ("present", "1.0.0", []))
    local_repo.open().storage.put("packages/index.json", b"[" * 1000)
    line = local_repo.cli("delete", "present:1.0.0", "--yes", "-b", local_repo.url).assert_one_line_error()
    assert "present 1.0.0 was deleted (its records and index entry were removed)" in line
    local_repo.cli("reindex", "-b", local_repo.url).assert_ok()
    local_repo.cli("verify", "-b", local_repo.url).assert_ok()


# -- limits ---------------------------------------------------------------------------------------------


def test_many_specs_with_many_clauses_are_handled(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    """2,000 different specs of one name, 99 clauses each (packaging's own set intersection is quadratic there)."""
    published(local_repo, tmp_path, ("present", "1.0.0", []), ("present", "2.0.0", []))
    specs = ["present:" + ",".join(f"!=0.{j}" for j in range(i * 99, i * 99 + 99)) for i in range(2000)]
    path = tmp_path / "pipper.json"
    path.write_text(json.dumps({"dependencies": [*specs, "present:<2", *(["present"] * 5000)]}))
    plan = local_repo.cli("install", "-i", str(path), "--dry-run", "-b", local_repo.url).assert_ok()
    assert "present 1.0.0" in plan.stdout
    path.write_text(json.dumps({"dependencies": [*specs, "present:>=3"]}))
    line = local_repo.cli("install", "-i", str(path), "--dry-run", "-b", local_repo.url).assert_one_line_error()
    assert "no version of present matches 'present:>=3' (requested)" in line
