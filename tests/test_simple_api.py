"""The simple pages: PEP 503 HTML everywhere, PEP 691 JSON at the keys clients ask for on S3.

The JSON pages are checked with a real client's parser (Poetry's ``SimpleJsonPage``, which Poetry's
HTTP sources use), and their headers as S3 serves them. uv reading them is tests/test_uv.py.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from urllib.parse import urljoin

import pytest

from .helpers import make_wheel, only_file
from .servers import RepoUnderTest

PEP691 = "application/vnd.pypi.simple.v1+json"


def publish(repo: RepoUnderTest, tmp_path: Path, name: str, version: str, **kwargs) -> Path:  # type: ignore[no-untyped-def]
    wheel = make_wheel(tmp_path / uuid.uuid4().hex[:8], name, version, **kwargs)
    repo.cli("publish", str(wheel), "-b", repo.url).assert_ok()
    return wheel


def head(repo: RepoUnderTest, key: str) -> dict:  # type: ignore[type-arg]
    assert repo.server is not None
    return repo.server.client().head_object(Bucket=repo.bucket, Key=f"team/{key}")  # type: ignore[no-any-return]


def test_json_pages_follow_pep_691_700_714_and_592(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(s3_repo, tmp_path, "Page_Lib", "1.0.0", requires_python=">=3.8")
    publish(s3_repo, tmp_path, "Page_Lib", "2.0.0")
    s3_repo.cli("yank", "page-lib:1.0.0", "--reason", "broken", "-b", s3_repo.url).assert_ok()
    core = s3_repo.open()
    index = core.require_index("page-lib")
    page = json.loads(core.storage.get("simple/page-lib/").data)
    assert page["meta"] == {"api-version": "1.1"}
    assert page["name"] == "page-lib" and page["versions"] == ["1.0.0", "2.0.0"]
    by_name = {f["filename"]: f for f in page["files"]}
    for version in ("1.0.0", "2.0.0"):
        dist = only_file(index.releases[version])
        entry = by_name[dist.filename]
        assert entry["hashes"] == {"sha256": dist.sha256} and entry["size"] == dist.size
        assert entry["core-metadata"] == entry["dist-info-metadata"] == {"sha256": dist.metadata_sha256}
        assert entry["upload-time"].endswith("Z") and entry["upload-time"][:19] == dist.upload_time[:19]
        # Relative to the page's own URL (<index>/page-lib/), the link is the file's object.
        index_url = f"{s3_repo.server.endpoint}/{s3_repo.bucket}/team/simple/"  # type: ignore[union-attr]
        assert urljoin(index_url + "page-lib/", entry["url"]) == \
            f"{s3_repo.server.endpoint}/{s3_repo.bucket}/team/{dist.key}"  # type: ignore[union-attr]
    assert by_name["page_lib-1.0.0-py3-none-any.whl"]["yanked"] == "broken"
    assert by_name["page_lib-1.0.0-py3-none-any.whl"]["requires-python"] == ">=3.8"
    assert by_name["page_lib-2.0.0-py3-none-any.whl"]["yanked"] is False
    assert "requires-python" not in by_name["page_lib-2.0.0-py3-none-any.whl"]
    root = json.loads(core.storage.get("simple/").data)
    assert root == {"meta": {"api-version": "1.1"}, "projects": [{"name": "Page_Lib"}]}

    # As a real client reads them: Poetry's PEP 691 parser (what its HTTP sources use).
    from poetry.core.packages.utils.link import Link
    from poetry.repositories.link_sources.json import SimpleJsonPage

    links = {link.filename: link for link in SimpleJsonPage(index_url + "page-lib/", page).links}
    old: Link = links["page_lib-1.0.0-py3-none-any.whl"]
    assert old.yanked and old.yanked_reason == "broken" and old.requires_python == ">=3.8"
    assert old.upload_time is not None and old.upload_time.tzinfo is not None
    assert old.hashes == {"sha256": only_file(index.releases["1.0.0"]).sha256}


def test_headers_as_s3_serves_them(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    """Content-Type decides how a client parses a page (S3 cannot negotiate); Cache-Control how long it keeps it."""
    publish(s3_repo, tmp_path, "hdr", "1.0.0")
    dist = only_file(s3_repo.open().require_index("hdr").releases["1.0.0"])
    for key in ("simple/hdr/", "simple/"):
        meta = head(s3_repo, key)
        assert meta["ContentType"] == PEP691 and meta["CacheControl"] == "max-age=60, must-revalidate"
    for key in ("simple/hdr/index.html", "simple/index.html"):
        meta = head(s3_repo, key)
        assert meta["ContentType"] == "text/html" and meta["CacheControl"] == "max-age=60, must-revalidate"
    for key in (dist.key, dist.metadata_key):
        assert head(s3_repo, key)["CacheControl"] == "public, max-age=31536000, immutable"


def test_local_repository_has_html_pages_only(local_repo: RepoUnderTest, tmp_path: Path) -> None:
    """A directory cannot hold a key ending in '/': file:// and static fronts serve index.html."""
    publish(local_repo, tmp_path, "loc", "1.0.0")
    root = Path(local_repo.url)
    assert (root / "simple/loc/index.html").is_file() and (root / "simple/index.html").is_file()
    assert sorted(p.name for p in (root / "simple/loc").iterdir()) == ["index.html"]
    assert "no drift" in local_repo.cli("verify", "-b", local_repo.url).assert_ok().stdout
    from poetry_pipper.errors import StorageError

    with pytest.raises(StorageError, match="cannot hold a key that ends in '/'"):
        local_repo.open().storage.put("simple/loc/", b"{}")


def test_verify_checks_every_page_and_reindex_repairs_them(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(s3_repo, tmp_path, "vp", "1.0.0")
    publish(s3_repo, tmp_path, "other", "1.0.0")
    storage = s3_repo.open().storage
    good = storage.get("simple/vp/")
    assert good is not None
    storage.put("simple/vp/", good.data, content_type="text/html")  # served as HTML: clients would misread it
    storage.delete("simple/other/")                                  # a repository from before the JSON pages
    storage.put("simple/", b'{"meta":{"api-version":"1.1"},"projects":[]}', content_type=PEP691)
    problems = {(p.split(": ")[0], p.split(": ")[1]) for p in s3_repo.cli("verify", "-b", s3_repo.url).stdout.splitlines()
                if p.count(": ") >= 2}
    assert problems == {("stale-page", "simple/vp/"), ("missing-page", "simple/other/"), ("stale-page", "simple/")}
    out = s3_repo.cli("verify", "-b", s3_repo.url).stdout
    assert "is served as 'text/html', not application/vnd.pypi.simple.v1+json" in out
    result = json.loads(s3_repo.cli("reindex", "-b", s3_repo.url, "--json").assert_ok().stdout)
    assert sorted(result["written"]) == ["simple/", "simple/other/", "simple/vp/"]
    assert head(s3_repo, "simple/vp/")["ContentType"] == PEP691
    assert "no drift" in s3_repo.cli("verify", "-b", s3_repo.url).assert_ok().stdout
    s3_repo.mark()
    assert "everything was already up to date" in s3_repo.cli("reindex", "-b", s3_repo.url).assert_ok().stdout
    assert not [r for r in s3_repo.requests() if r.method == "PUT"]


def test_delete_and_yank_rewrite_the_json_page(s3_repo: RepoUnderTest, tmp_path: Path) -> None:
    publish(s3_repo, tmp_path, "gone", "1.0.0")
    publish(s3_repo, tmp_path, "gone", "1.1.0")
    storage = s3_repo.open().storage
    s3_repo.cli("yank", "gone:1.1.0", "-b", s3_repo.url).assert_ok()
    files = json.loads(storage.get("simple/gone/").data)["files"]
    assert [f["yanked"] for f in files] == [False, True]  # yanked without a reason: true
    s3_repo.cli("delete", "gone:1.1.0", "--yes", "-b", s3_repo.url).assert_ok()
    page = json.loads(storage.get("simple/gone/").data)
    assert page["versions"] == ["1.0.0"] and len(page["files"]) == 1
    s3_repo.cli("delete", "gone:1.0.0", "--yes", "-b", s3_repo.url).assert_ok()
    assert json.loads(storage.get("simple/gone/").data)["files"] == []
    assert json.loads(storage.get("simple/").data)["projects"] == []
