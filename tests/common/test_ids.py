import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from fangfan.common.ids import (
    BIRTH_REASON,
    CHECK_REASON,
    SHAPE_REASON,
    IdNumberError,
    age_on,
    birth_date,
    check_digit,
    check_digit_expr,
    convert_15_to_18,
    id_expr,
    mask,
    plain_integer,
    plain_integers,
    sex,
    validate_id,
)
from tests.common.strategies import decorated, near_text

VALID = "34122519900101100X"


def _scalar(text):
    try:
        return validate_id(text), None
    except IdNumberError as exc:
        return None, str(exc)


def _twin(texts):
    number, reason = id_expr(pl.col("t"))
    rows = pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(number.alias("n"), reason.alias("r")).rows()
    return [(None, r) if r is not None else (n, r) for n, r in rows]


FIRST17 = st.text("0123456789", min_size=17, max_size=17)
BORN = st.dates(dt.date(1880, 1, 1), dt.date(2120, 12, 31))
VALID_IDS = st.builds(
    lambda area, born, seq: (lambda f: f + check_digit(f))(area + born.strftime("%Y%m%d") + f"{seq:03d}"),
    st.text("0123456789", min_size=6, max_size=6), BORN, st.integers(0, 999),
)


@settings(max_examples=500, deadline=None)
@given(FIRST17)
def test_it_computes_the_check_digit_of_stdnum(first17):
    assert check_digit(first17) == ric.calc_check_digit(first17 + "0")


@settings(max_examples=200, deadline=None)
@given(st.lists(FIRST17, min_size=1, max_size=50))
def test_it_computes_the_same_check_digits_in_polars(numbers):
    got = pl.DataFrame({"f": numbers}).select(check_digit_expr(pl.col("f").cast(pl.Int64))).to_series().to_list()
    assert got == [check_digit(n) for n in numbers]


@settings(max_examples=300, deadline=None)
@given(VALID_IDS)
def test_it_refuses_a_check_digit_exactly_when_stdnum_does(number):
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(IdNumberError, match=CHECK_REASON):
        validate_id(wrong)
    assert ric.calc_check_digit(number) == number[17]
    assert ric.calc_check_digit(wrong) != wrong[17]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(near_text(20), decorated(VALID_IDS), VALID_IDS.map(lambda n: n.lower())), min_size=1, max_size=40))
def test_it_gives_the_polars_twin_the_answers_of_validate_id(texts):
    assert _twin(texts) == [_scalar(t) for t in texts]


@pytest.mark.parametrize(
    ("text", "reason"),
    [("3412251990010130", SHAPE_REASON), ("３41225199001013012", SHAPE_REASON), ("34122519900101301Y", SHAPE_REASON),
     ("341225199001013012", CHECK_REASON), ("34122519900230301", BIRTH_REASON), ("34122518990101301", BIRTH_REASON)],
)
def test_it_refuses_a_bad_number_with_the_reason_alone(text, reason):
    if len(text) == 17:  # a bad birth date behind a right check digit
        text += check_digit(text)
    with pytest.raises(IdNumberError) as exc:
        validate_id(text)
    assert str(exc.value) == reason and text not in str(exc.value)
    assert _twin([text]) == [(None, reason)]


def test_it_accepts_a_lower_case_x_and_spaces():
    assert validate_id(" 34122519900101100x\u3000") == VALID
    assert ric.calc_check_digit(VALID) == "X"


def test_it_converts_old_15_digit_numbers():
    assert convert_15_to_18("341225900101100") == VALID


def test_it_reads_birth_date_sex_and_age():
    assert birth_date(VALID) == dt.date(1990, 1, 1)
    assert sex(VALID) == "F" and sex("341225199001013013") == "M"
    assert age_on(VALID, dt.date(2026, 1, 1)) == 36 and age_on(VALID, dt.date(2025, 12, 31)) == 35


def test_it_masks_all_but_the_first_six_and_last_four():
    assert mask(VALID) == "341225********100X"
    assert mask("12345") == "*****" and mask(None) == ""


KEYS = st.one_of(
    st.integers(0, 10**19).map(str),
    decorated(st.integers(0, 10**18).map(str)),
    near_text(max_size=20),
    st.sampled_from(["0", "00", "01", "+1", "-1", "1e3", "1.0", "", "999999999999999999", "1000000000000000000"]),
)


@settings(max_examples=300, deadline=None)
@given(KEYS)
def test_it_reads_a_key_as_an_integer_only_when_it_is_written_as_one(text):
    number = plain_integer(text)
    assert number is None or str(number) == text
    assert (number is None) == (not (text.isascii() and text.isdigit() and str(int(text)) == text and len(text) <= 18))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), KEYS), max_size=30))
def test_it_reads_a_column_of_keys_as_integers_exactly_when_every_key_is_one(texts):
    got = plain_integers(pl.Series(texts, dtype=pl.String))
    scalars = [None if t is None else plain_integer(t) for t in texts]
    if any(t is not None and n is None for t, n in zip(texts, scalars)):
        assert got is None
    else:
        assert got is not None and got.to_list() == scalars
