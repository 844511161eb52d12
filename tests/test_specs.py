from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from poetry_pipper.specs import SpecError, normalize_name, parse_spec, read_spec_file

VERSIONS = [Version(v) for v in [
    "0.9", "1.0.0", "1.1.0", "1.2.0", "1.2.3", "1.2.4", "1.3.0rc1", "1.3.0", "2.0.0.dev1", "2.0.0a1",
    "2.0.0", "2.0.1.post1", "2.1.0+local.1",
]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("foo", "1.3.0" if False else "2.1.0+local.1"),
        ("foo:1.2.3", "1.2.3"),
        ("foo:=1.2.3", "1.2.3"),
        ("foo:==1.2.3", "1.2.3"),
        ("foo:1.2.*", "1.2.4"),
        ("foo:1.*.*", "1.3.0"),
        ("foo:1.*", "1.3.0"),
        ("foo:<1.2.3", "1.2.0"),
        ("foo:<=1.2.3", "1.2.3"),
        ("foo:>1.2.3", "2.1.0+local.1"),
        ("foo:>=1.2.3,<2", "1.3.0"),
        ("foo>=1.2,<2", "1.3.0"),
        ("foo~=1.2", "1.3.0"),
        ("foo~=1.2.0", "1.2.4"),
        ("foo==2.0.0a1", "2.0.0a1"),
        ("foo:1.3.0rc1", "1.3.0rc1"),
        ("Foo_Bar.baz:1.2.3", "1.2.3"),
        ("foo[extra]>=1,<1.2", "1.1.0"),
        ("foo:!=2.1.0+local.1", "2.0.1.post1"),
    ],
)
def test_seed_and_pep440_forms_select(text: str, expected: str) -> None:
    assert str(parse_spec(text).select(VERSIONS)) == expected


def test_prereleases_need_pre_or_exact_pin() -> None:
    assert parse_spec("foo:>=2.0.0.dev0,<2.0.0b1").select(VERSIONS) == Version("2.0.0a1")  # names a pre-release
    assert parse_spec("foo:<2").select(VERSIONS) == Version("1.3.0")
    assert parse_spec("foo:>=2,<2.0.1").select(VERSIONS) == Version("2.0.0")
    only_pre = [Version("3.0.0rc1")]
    assert parse_spec("foo").select(only_pre) is None
    assert parse_spec("foo").select(only_pre, pre=True) == Version("3.0.0rc1")
    assert parse_spec("foo:3.0.0rc1").select(only_pre) == Version("3.0.0rc1")


def test_name_is_normalized() -> None:
    assert parse_spec("Foo_Bar.Baz").name == "foo-bar-baz"
    assert normalize_name("A.B") == "a-b"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "foo:", "foo:>", "foo:1.2.x", "foo:>=1.*", "-foo", "foo bar", "foo:1..2", "foo>=>1",
     "foo @ https://example.com/x.whl", "foo:abc", "fo$o", "foo:~=1"],
)
def test_malformed_specs_raise_one_line(text: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert "\n" not in str(info.value)


def test_read_spec_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "pipper.json"
    good.write_text('{"dependencies": ["a", "b:1.2.*"]}')
    assert read_spec_file(str(good)) == ["a", "b:1.2.*"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"dependencies": "a"}')
    with pytest.raises(SpecError.__mro__[1]):
        read_spec_file(str(bad))
    with pytest.raises(SpecError.__mro__[1], match="no such file"):
        read_spec_file(str(tmp_path / "missing.json"))


# -- property: the seed syntax and the equivalent PEP 440 specifier select the same version ---

versions = st.lists(
    st.builds(
        lambda a, b, c, pre: Version(f"{a}.{b}.{c}{pre}"),
        st.integers(0, 4), st.integers(0, 4), st.integers(0, 4),
        st.sampled_from(["", "", "", "rc1", "a2", ".post1", ".dev3"]),
    ),
    min_size=0,
    max_size=25,
)
release = st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4))


@given(versions, release, st.sampled_from(["", "=", "==", "<", "<=", ">", ">=", "!="]), st.booleans())
def test_seed_comparison_equals_pep440(pool, rel, op, pre) -> None:  # type: ignore[no-untyped-def]
    version = ".".join(map(str, rel))
    seed = parse_spec(f"foo:{op}{version}")
    pep_op = {"": "==", "=": "=="}.get(op, op)
    reference = SpecifierSet(f"{pep_op}{version}")
    expected = max(reference.filter(pool, prereleases=pre or bool(reference.prereleases)), default=None)
    assert seed.select(pool, pre=pre) == expected
    assert seed.select(pool, pre=pre) == parse_spec(f"foo{pep_op}{version}").select(pool, pre=pre)


@given(versions, release, st.integers(1, 3), st.booleans())
def test_seed_wildcards_equal_pep440(pool, rel, keep, pre) -> None:  # type: ignore[no-untyped-def]
    fixed = [str(p) for p in rel[:keep]]
    seed_text = ".".join(fixed + ["*"] * (3 - keep)) if keep < 3 else ".".join(fixed)
    pep_text = ".".join([*fixed, "*"]) if keep < 3 else ".".join(fixed)
    seed = parse_spec(f"foo:{seed_text}")
    reference = SpecifierSet(f"=={pep_text}")
    expected = max(reference.filter(pool, prereleases=pre or bool(reference.prereleases)), default=None)
    assert seed.select(pool, pre=pre) == expected


@given(versions, release, release)
def test_seed_ranges_equal_pep440(pool, low, high) -> None:  # type: ignore[no-untyped-def]
    lo, hi = ".".join(map(str, low)), ".".join(map(str, high))
    assert parse_spec(f"foo:>={lo},<{hi}").select(pool) == parse_spec(f"foo>={lo},<{hi}").select(pool)
