import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangfan.regions import codes

SEGMENTS = (2, 2, 2, 3, 3)


def _code(parts):
    # A segment is zero or not; a province is never zero.
    return "".join(digits if keep or i == 0 else "0" * len(digits) for i, (digits, keep) in enumerate(parts))


CODES = st.tuples(
    *(st.tuples(st.text("123456789", min_size=n, max_size=n) if i == 0 else st.text("0123456789", min_size=n, max_size=n), st.booleans())
      for i, n in enumerate(SEGMENTS))
).map(_code)


@settings(max_examples=300, deadline=None)
@given(CODES)
def test_it_gives_every_code_one_prefix_that_names_it(code):
    prefix = codes.normalise_prefix(code)
    assert prefix == codes.prefix_of(code) and codes.full_code(prefix) == code
    assert len(prefix) in codes.PREFIX_LENGTHS and codes.check_prefix(prefix) == prefix
    assert codes.normalise_prefix(prefix) == prefix


@pytest.mark.parametrize(("typed", "prefix"), [("430000", "43"), ("210800000000", "2108"), ("2108", "2108"), (" 341225103 ", "341225103")])
def test_it_normalises_a_typed_code(typed, prefix):
    assert codes.normalise_prefix(typed) == prefix


@pytest.mark.parametrize("typed", ["21080", "２１０８", "21a8", "", "²108"])
def test_it_refuses_a_typed_code_that_is_not_one(typed):
    with pytest.raises(codes.PrefixError, match="2、4、6、9 或 12 位数字"):
        codes.normalise_prefix(typed)


@pytest.mark.parametrize(
    ("raw", "words"), [(2108, "加引号"), ("21a8", "只能由数字"), ("21080", "5 位"), ("210800", "零段"), ("３４", "只能由数字")]
)
def test_it_refuses_a_written_prefix_with_the_reason(raw, words):
    with pytest.raises(codes.PrefixError, match=words):
        codes.check_prefix(raw)


def test_it_tells_levels_and_ancestors():
    assert [codes.level_of(c) for c in ("340000000000", "341200000000", "341225000000", "341225103000", "341225103201")] == [
        "province", "city", "county", "township", "village"]
    assert codes.ancestors("341225103201") == ["340000000000", "341200000000", "341225000000", "341225103000"]
    assert codes.is_village_code("341225103201") and not codes.is_village_code("341225103000")
    assert not codes.is_village_code("３41225103201")


def test_it_knows_counties_from_gbt_2260():
    assert codes.is_known_county("341225") and codes.county_name("341225") == "阜南县"
    assert not codes.is_known_county("349999") and not codes.is_known_county("３41225")


def test_it_takes_only_ascii_digits_for_digits():
    assert codes.is_digits("0123") and not codes.is_digits("１２") and not codes.is_digits("²") and not codes.is_digits("")
