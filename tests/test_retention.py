"""The prune planner (poetry_pipper/retention.py): rules, protections, yank grace period, output; invariants."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from poetry_pipper.errors import PipperError
from poetry_pipper.locks import LockedPin, Protection
from poetry_pipper.retention import (
    DELETE,
    KEEP,
    YANK,
    FileInfo,
    PackageVersions,
    Plan,
    Policy,
    VersionInfo,
    format_ago,
    format_bytes,
    parse_age,
    plan,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def release(version: str, age_days: float, *, yanked: bool = False, yanked_days: float | None = None,
            size: int = 100, files: int = 1) -> VersionInfo:
    infos = tuple(FileInfo(f"pkg-{version}-{i}.whl", f"{abs(hash((version, i))):064x}"[-64:], size) for i in range(files))
    return VersionInfo(Version(version), infos, NOW - age_days * DAY, yanked,
                       None if yanked_days is None else NOW - yanked_days * DAY)


def package(name: str, *versions: VersionInfo) -> PackageVersions:
    return PackageVersions(name, tuple(versions))


def actions(result: Plan) -> dict[str, str]:
    return {str(d.version): d.action for d in result.decisions}


def reasons(result: Plan, version: str) -> tuple[str, ...]:
    return next(d.reasons for d in result.decisions if str(d.version) == version)


# -- durations ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("90d", timedelta(days=90)), ("90 days", timedelta(days=90)), ("1 day", DAY), (" 3D ", timedelta(days=3)),
    ("2w", timedelta(weeks=2)), ("1 week", timedelta(weeks=1)), ("12h", timedelta(hours=12)),
    ("1hour", timedelta(hours=1)), ("30m", timedelta(minutes=30)), ("30min", timedelta(minutes=30)),
    ("5 minutes", timedelta(minutes=5)), ("45s", timedelta(seconds=45)), ("10 seconds", timedelta(seconds=10)),
    ("36525d", timedelta(days=36525)),
])
def test_parse_age(text: str, expected: timedelta) -> None:
    assert parse_age(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", "is not a duration"), ("90", "is not a duration"), ("d", "is not a duration"),
    ("1.5d", "is not a duration"), ("-1d", "is not a duration"), ("1d12h", "is not a duration"),
    ("3mo", "months and years vary"), ("1 month", "months and years vary"), ("1y", "months and years vary"),
    ("2 years", "months and years vary"), ("5 fortnights", "unknown unit 'fortnights'"),
    ("0d", "duration of 0"), ("0 s", "duration of 0"), ("36526d", "more than 100 years"),
    ("999999999999w", "more than 100 years"), ("9" * 50 + "d", "is not a duration"),
    ("1\x1b[31md", "is not a duration"),
])
def test_parse_age_refuses_with_one_line(text: str, expected: str) -> None:
    with pytest.raises(PipperError) as info:
        parse_age(text)
    message = str(info.value)
    assert expected in message and "\n" not in message and "\x1b" not in message
    assert "e.g." in message


def test_formats() -> None:
    assert format_ago(timedelta(days=3, hours=5)) == "3 days ago"
    assert format_ago(timedelta(hours=30)) == "30 hours ago"
    assert format_ago(timedelta(seconds=1)) == "1 second ago"
    assert format_ago(timedelta(minutes=-5)) == "in the future (clock skew?)"
    assert [format_bytes(n) for n in (0, 999, 1000, 12_345, 4_000_000, 5 * 10**12)] == \
        ["0 B", "999 B", "1.0 kB", "12.3 kB", "4.0 MB", "5.0 TB"]


# -- the policy ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, "prune needs a rule: give --keep N, --older-than DURATION"),
    ({"yank": True}, "prune needs a rule"),
    ({"keep": 0}, "--keep 0: keep at least 1"),
    ({"keep": -3}, "--keep -3: keep at least 1"),
    ({"older_than": timedelta(0)}, "--older-than must be longer than 0"),
    ({"older_than": timedelta(days=40000)}, "at most 100 years"),
])
def test_policy_needs_a_usable_rule(kwargs: dict, expected: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(PipperError) as info:
        Policy(**kwargs)
    assert expected in str(info.value) and "\n" not in str(info.value)


# -- rules --------------------------------------------------------------------------------------------


def test_keep_n_newest_by_pep440_order() -> None:
    versions = [release(v, age) for v, age in [("1.10.0", 1), ("1.9.0", 2), ("1.2.0", 30), ("1.0.0", 40),
                                               ("1.1.0", 50)]]  # upload order does not matter
    result = plan([package("acme", *versions)], Policy(keep=2), now=NOW)
    assert [str(d.version) for d in result.decisions] == ["1.10.0", "1.9.0", "1.2.0", "1.1.0", "1.0.0"]
    assert actions(result) == {"1.10.0": KEEP, "1.9.0": KEEP, "1.2.0": DELETE, "1.1.0": DELETE, "1.0.0": DELETE}
    assert reasons(result, "1.10.0") == ("newest release", "among the 2 newest")
    assert reasons(result, "1.9.0") == ("among the 2 newest",)
    assert reasons(result, "1.1.0") == ("not among the 2 newest (number 4)",)


def test_older_than_alone() -> None:
    versions = [release("3.0", 2), release("2.0", 3), release("1.0", 40)]
    result = plan([package("acme", *versions)], Policy(older_than=timedelta(days=30)), now=NOW)
    assert actions(result) == {"3.0": KEEP, "2.0": KEEP, "1.0": DELETE}
    assert reasons(result, "2.0") == ("uploaded 3 days ago, not older than 30d",)
    assert reasons(result, "1.0") == ("uploaded 40 days ago, older than 30d",)


def test_both_rules_must_select() -> None:
    versions = [release("5.0", 1), release("4.0", 2), release("3.0", 60), release("2.0", 3), release("1.0", 90)]
    result = plan([package("acme", *versions)], Policy(keep=2, older_than=timedelta(days=30)), now=NOW)
    assert actions(result) == {"5.0": KEEP, "4.0": KEEP, "3.0": DELETE, "2.0": KEEP, "1.0": DELETE}
    assert reasons(result, "2.0") == ("not among the 2 newest (number 4)", "uploaded 3 days ago, not older than 30d")
    assert reasons(result, "3.0") == ("not among the 2 newest (number 3)", "uploaded 60 days ago, older than 30d")


def test_the_newest_release_is_kept_even_when_every_rule_selects_it() -> None:
    versions = [release("2.0", 100), release("1.0", 200)]
    result = plan([package("acme", *versions)], Policy(older_than=timedelta(days=30)), now=NOW)
    assert actions(result) == {"2.0": KEEP, "1.0": DELETE}
    assert reasons(result, "2.0") == ("newest release", "uploaded 100 days ago, older than 30d")


def test_the_newest_release_is_the_newest_non_yanked_one() -> None:
    versions = [release("3.0", 100, yanked=True), release("2.0", 100), release("1.0", 100)]
    result = plan([package("acme", *versions)], Policy(keep=1), now=NOW)
    assert actions(result) == {"3.0": DELETE, "2.0": KEEP, "1.0": DELETE}
    assert reasons(result, "3.0") == ("yanked, so not counted among the 1 newest",)


def test_prereleases_count_like_any_version() -> None:
    versions = [release("1.1.dev2", 1), release("1.1.dev1", 2), release("1.0", 10), release("1.1rc1", 3),
                release("0.9", 20)]
    result = plan([package("acme", *versions)], Policy(keep=2), now=NOW)
    assert actions(result) == {"1.1rc1": KEEP, "1.1.dev2": KEEP, "1.1.dev1": DELETE, "1.0": KEEP, "0.9": DELETE}
    assert reasons(result, "1.0") == ("newest final release (resolvers skip pre-releases unless asked)",
                                      "not among the 2 newest (number 4)")


def test_dev_builds_never_push_out_the_last_final_release() -> None:
    """A CI publishing 1.3.0.devN builds: keep=3 keeps three dev builds, and 1.2.0 for resolvers without --pre."""
    versions = [release(f"1.3.0.dev{n}", 10 - n) for n in range(10)] + [release("1.2.0", 30), release("1.1.0", 60)]
    result = plan([package("acme", *versions)], Policy(keep=3, older_than=DAY), now=NOW)
    kept = [str(d.version) for d in result.decisions if d.action == KEEP]
    assert kept == ["1.3.0.dev9", "1.3.0.dev8", "1.3.0.dev7", "1.2.0"]
    assert reasons(result, "1.2.0")[0] == "newest final release (resolvers skip pre-releases unless asked)"


def test_the_newest_final_release_is_the_newest_non_yanked_one() -> None:
    versions = [release("2.0.dev1", 1), release("1.1", 5, yanked=True), release("1.0.post1", 10), release("1.0", 20)]
    result = plan([package("acme", *versions)], Policy(keep=1), now=NOW)
    assert actions(result) == {"2.0.dev1": KEEP, "1.1": DELETE, "1.0.post1": KEEP, "1.0": DELETE}
    # a package of pre-releases only: the newest release guard alone
    only_pre = plan([package("b", release("1.0rc2", 1), release("1.0rc1", 2))], Policy(keep=1), now=NOW)
    assert actions(only_pre) == {"1.0rc2": KEEP, "1.0rc1": DELETE}
    assert reasons(only_pre, "1.0rc2") == ("newest release", "among the 1 newest")


def test_future_upload_times_are_not_old() -> None:
    versions = [release("2.0", 100), release("1.0", -1)]
    result = plan([package("acme", *versions)], Policy(older_than=DAY), now=NOW)
    assert actions(result) == {"2.0": KEEP, "1.0": KEEP}
    assert reasons(result, "1.0") == ("uploaded in the future (clock skew?), not older than 1d",)


def test_naive_datetimes_are_utc() -> None:
    naive = VersionInfo(Version("1.0"), (), datetime(2026, 10, 1), False)
    result = plan([package("acme", release("2.0", 1), naive)], Policy(older_than=timedelta(days=30)),
                  now=datetime(2026, 11, 30, 12, 0))
    assert actions(result) == {"2.0": KEEP, "1.0": DELETE}
    assert result.now.tzinfo is UTC


# -- locks --------------------------------------------------------------------------------------------


def test_locked_versions_are_kept_by_version_and_by_hash() -> None:
    old = [release(f"1.{i}.0", 100 + i) for i in range(5)]
    by_hash = old[3]
    protection = Protection([
        LockedPin("acme", Version("1.2.0"), frozenset(), "poetry.lock (acme 1.2.0)"),
        LockedPin("acme", Version("1.2"), frozenset(), "requirements.txt:4 (acme==1.2)"),
        LockedPin("acme", None, frozenset({by_hash.files[0].sha256}), "pylock.toml (acme, by sha256)"),
        LockedPin("other", Version("1.1.0"), frozenset(), "uv.lock (other 1.1.0)"),
    ])
    result = plan([package("Acme", release("2.0.0", 1), *old)], Policy(keep=1), now=NOW, protection=protection)
    assert actions(result) == {"2.0.0": KEEP, "1.4.0": DELETE, "1.3.0": KEEP, "1.2.0": KEEP, "1.1.0": DELETE,
                               "1.0.0": DELETE}
    assert reasons(result, "1.2.0") == ("locked by poetry.lock (acme 1.2.0)", "locked by requirements.txt:4 (acme==1.2)",
                                        "not among the 1 newest (number 4)")
    assert reasons(result, "1.3.0")[0] == "locked by pylock.toml (acme, by sha256)"
    decision = next(d for d in result.decisions if str(d.version) == "1.2.0")
    assert decision.locked_by == ("poetry.lock (acme 1.2.0)", "requirements.txt:4 (acme==1.2)")


def test_locked_versions_are_not_yanked_either() -> None:
    protection = Protection([LockedPin("acme", Version("1.0"), frozenset(), "uv.lock (acme 1.0)")])
    result = plan([package("acme", release("2.0", 1), release("1.0", 100))], Policy(keep=1, yank=True),
                  now=NOW, protection=protection)
    assert actions(result) == {"2.0": KEEP, "1.0": KEEP}


# -- yank as a grace period ----------------------------------------------------------------------------


def test_yank_mode() -> None:
    versions = [
        release("6.0", 1), release("5.0", 50),
        release("4.0", 90, yanked=True, yanked_days=40),
        release("3.0", 90, yanked=True, yanked_days=10),
        release("2.0", 90, yanked=True),  # yanked at an unknown time
        release("1.0", 5),
    ]
    result = plan([package("acme", *versions)], Policy(keep=1, older_than=timedelta(days=30), yank=True), now=NOW)
    assert actions(result) == {"6.0": KEEP, "5.0": YANK, "4.0": DELETE, "3.0": KEEP, "2.0": KEEP, "1.0": KEEP}
    assert reasons(result, "4.0") == ("yanked, so not counted among the 1 newest", "yanked 40 days ago, longer than 30d")
    assert reasons(result, "3.0")[1] == "yanked 10 days ago, not longer than 30d"
    assert "unknown time" in reasons(result, "2.0")[1]
    assert reasons(result, "1.0") == ("not among the 1 newest (number 3)", "uploaded 5 days ago, not older than 30d")


def test_yank_mode_without_older_than_never_deletes() -> None:
    versions = [release("3.0", 1), release("2.0", 100), release("1.0", 100, yanked=True, yanked_days=1000)]
    result = plan([package("acme", *versions)], Policy(keep=1, yank=True), now=NOW)
    assert actions(result) == {"3.0": KEEP, "2.0": YANK, "1.0": KEEP}
    assert "only with --older-than" in reasons(result, "1.0")[1]


def test_delete_mode_treats_yanked_versions_like_the_others() -> None:
    versions = [release("3.0", 1), release("2.0", 100, yanked=True), release("1.0", 5, yanked=True)]
    result = plan([package("acme", *versions)], Policy(keep=5, older_than=timedelta(days=30)), now=NOW)
    assert actions(result) == {"3.0": KEEP, "2.0": DELETE, "1.0": KEEP}


def test_a_package_with_only_yanked_versions_has_no_newest_release_to_keep() -> None:
    versions = [release("2.0", 100, yanked=True), release("1.0", 100, yanked=True)]
    result = plan([package("acme", *versions)], Policy(keep=3), now=NOW)
    assert actions(result) == {"2.0": DELETE, "1.0": DELETE}


# -- output ---------------------------------------------------------------------------------------------


def test_summary_json_and_description() -> None:
    packages = [package("zeta", release("2.0", 1, size=1000, files=2), release("1.0", 100, size=500, files=3)),
                package("Alpha", release("1.1", 1, size=10), release("1.0", 100, size=20, yanked=False))]
    result = plan(packages, Policy(keep=1, older_than=timedelta(days=30), yank=True), now=NOW)
    assert [(d.name, str(d.version)) for d in result.decisions] == [("Alpha", "1.1"), ("Alpha", "1.0"),
                                                                   ("zeta", "2.0"), ("zeta", "1.0")]
    summary = result.summary
    assert (summary.deleted, summary.yanked, summary.kept) == ((0, 0), (2, 1520), (2, 2010))
    assert summary.line() == "yank 2 versions (1.5 kB), keep 2 versions (2.0 kB)"
    decision = result.decisions[3]
    assert decision.describe() == ("yank zeta 1.0 (3 files, 1.5 kB): not among the 1 newest (number 2); "
                                   "uploaded 100 days ago, older than 30d")
    data = json.loads(json.dumps(result.to_json()))
    assert data["policy"] == {"keep": 1, "older_than": "30d", "older_than_seconds": 2592000, "yank": True}
    assert data["now"] == "2026-11-30T12:00:00+00:00"
    assert data["summary"] == {"delete": {"versions": 0, "bytes": 0}, "yank": {"versions": 2, "bytes": 1520},
                               "keep": {"versions": 2, "bytes": 2010}}
    assert data["decisions"][3] == {
        "name": "zeta", "version": "1.0", "action": "yank", "yanked": False, "bytes": 1500, "locked_by": [],
        "files": [{"filename": f.filename, "sha256": f.sha256, "size": 500} for f in decision.files],
        "reasons": ["not among the 1 newest (number 2)", "uploaded 100 days ago, older than 30d"]}


def test_files_may_be_plain_tuples() -> None:
    info = VersionInfo(Version("1.0"), [("a-1.0.whl", "0" * 64, 5), ("a-1.0.tar.gz", "1" * 64, 7)], NOW)  # type: ignore[arg-type]
    assert info.files == (FileInfo("a-1.0.whl", "0" * 64, 5), FileInfo("a-1.0.tar.gz", "1" * 64, 7))
    assert info.bytes == 12


def test_summary_line_in_delete_mode() -> None:
    result = plan([package("a", release("2.0", 1, size=1), release("1.0", 100, size=2_500_000))], Policy(keep=1),
                  now=NOW)
    assert result.summary.line() == "delete 1 version (2.5 MB), keep 1 version (1 B)"


# -- invariants -----------------------------------------------------------------------------------------


@st.composite
def packages_strategy(draw: st.DrawFn) -> list[PackageVersions]:
    result = []
    for name in draw(st.lists(st.sampled_from(["acme", "Acme_Two", "b", "c-d"]), min_size=1, max_size=3,
                              unique_by=lambda n: n.lower().replace("_", "-"))):
        triples = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.sampled_from(["", "rc1", ".dev1"])),
                                min_size=1, max_size=12, unique=True))
        versions = []
        for major, minor, suffix in triples:
            yanked = draw(st.integers(0, 4)) == 0
            versions.append(VersionInfo(
                Version(f"{major}.{minor}{suffix}"),
                (FileInfo(f"{name}-{major}.{minor}{suffix}.whl", f"{major:032x}{minor:016x}{len(suffix):016x}",
                          draw(st.integers(0, 10**6))),),
                NOW - timedelta(hours=draw(st.integers(-48, 24 * 400))),
                yanked,
                NOW - timedelta(hours=draw(st.integers(0, 24 * 400))) if yanked and draw(st.booleans()) else None))
        result.append(PackageVersions(name, tuple(versions)))
    return result


@st.composite
def policy_strategy(draw: st.DrawFn) -> Policy:
    keep = draw(st.none() | st.integers(1, 5))
    older = draw((st.none() if keep is not None else st.nothing()) | st.integers(1, 24 * 300).map(
        lambda h: timedelta(hours=h)))
    return Policy(keep=keep, older_than=older, yank=draw(st.booleans()))


def _locks(draw: st.DrawFn, packages: list[PackageVersions]) -> Protection:
    pins = []
    for pkg in packages:
        for info in pkg.versions:
            choice = draw(st.sampled_from(["none"] * 8 + ["version", "hash"]))
            if choice == "version":
                pins.append(LockedPin(pkg.name.lower().replace("_", "-"), info.version, frozenset(), "lock"))
            elif choice == "hash":
                pins.append(LockedPin(pkg.name.lower().replace("_", "-"), None, frozenset({info.files[0].sha256}), "h"))
    return Protection(pins)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_invariants(data: st.DataObject) -> None:
    packages = data.draw(packages_strategy())
    policy = data.draw(policy_strategy())
    protection = _locks(data.draw, packages)
    result = plan(packages, policy, now=NOW, protection=protection)
    by_key = {(d.name, d.version, str(d.version)): d for d in result.decisions}
    assert len(by_key) == sum(len(p.versions) for p in packages)  # one decision per version

    for pkg in packages:
        releases = sorted((v for v in pkg.versions if not v.yanked), key=lambda v: v.version, reverse=True)
        decisions = [by_key[(pkg.name, v.version, str(v.version))] for v in pkg.versions]
        # the newest non-yanked release is never removed, nor the newest non-yanked final release
        if releases:
            assert by_key[(pkg.name, releases[0].version, str(releases[0].version))].action == KEEP
        finals = [v for v in releases if not v.version.is_prerelease]
        if finals:
            assert by_key[(pkg.name, finals[0].version, str(finals[0].version))].action == KEEP
        # keep N leaves at least min(N, count) non-yanked versions
        if policy.keep is not None:
            remaining = [d for d in decisions if not d.yanked and d.action == KEEP]
            assert len(remaining) >= min(policy.keep, len(releases))
        for info, decision in zip(pkg.versions, decisions, strict=True):
            # a locked version is never removed (nor yanked)
            if protection.protects(pkg.name, info.version, [f.sha256 for f in info.files]):
                assert decision.action == KEEP and decision.locked_by
            # nothing uploaded within --older-than is removed
            if policy.older_than is not None and decision.action != KEEP and not (policy.yank and info.yanked):
                assert NOW - info.uploaded > policy.older_than
            # --yank never deletes a version that is not yanked yet; it deletes only after the grace period
            if policy.yank and decision.action == DELETE:
                assert info.yanked and info.yanked_at is not None and policy.older_than is not None
                assert NOW - info.yanked_at > policy.older_than
            if decision.action == YANK:
                assert policy.yank and not info.yanked
            assert decision.reasons

    # deterministic: the same plan whatever the input order
    shuffled = [PackageVersions(p.name, tuple(random.Random(7).sample(p.versions, len(p.versions))))
                for p in reversed(packages)]
    again = plan(shuffled, policy, now=NOW, protection=protection)
    assert again.to_json() == result.to_json()
    summary = result.summary
    assert summary.deleted[0] + summary.yanked[0] + summary.kept[0] == len(result.decisions)
