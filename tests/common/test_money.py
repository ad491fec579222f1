from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangfan.common.money import MoneyError, div_half_up, fen_to_yuan, format_yuan, parse_yuan, yuan, yuan_expr
from tests.common.strategies import decorated, near_text


def _scalar(text):
    try:
        return parse_yuan(text), None
    except MoneyError as exc:
        return None, exc.reason


def _twin(texts):
    fen, reason = yuan_expr(pl.col("t"))
    return pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(fen.alias("f"), reason.alias("r")).rows()


@pytest.mark.parametrize(
    ("text", "fen"),
    [("1234.5", 123450), ("1,234.50", 123450), ("1，234", 123400), ("￥12", 1200), ("¥12", 1200), ("12元", 1200),
     ("1.", 100), (" 7 260 ", 726000), ("\u30008.05", 805), ("-5", -500), ("+5", 500), ("0", 0), ("999999999999999.99", 99999999999999999)],
)
def test_it_reads_the_spellings_of_data_md(text, fen):
    assert parse_yuan(text) == fen
    assert _twin([text]) == [(fen, None)]


@pytest.mark.parametrize(
    ("text", "reason"),
    [("1.005", "金额最多两位小数"), ("１２", "不是金额(单位元,最多两位小数)"), (".5", "不是金额(单位元,最多两位小数)"),
     ("", "不是金额(单位元,最多两位小数)"), ("一千", "不是金额(单位元,最多两位小数)"), ("1e3", "不是金额(单位元,最多两位小数)"),
     ("1.2.3", "不是金额(单位元,最多两位小数)"), ("1_000", "不是金额(单位元,最多两位小数)"), ("\x1c1", "不是金额(单位元,最多两位小数)"),
     ("1234567890123456", "金额过大")],
)
def test_it_refuses_what_is_not_an_amount_with_the_reason(text, reason):
    with pytest.raises(MoneyError) as exc:
        parse_yuan(text)
    assert exc.value.reason == reason and repr(text) in str(exc.value)
    assert _twin([text]) == [(None, reason)]


def test_it_gives_the_twin_no_answer_for_an_empty_cell():
    assert _twin([None]) == [(None, None)]


AMOUNTS = st.builds(
    lambda sign, whole, point, cents, sep: sign + (f"{whole:,}" if sep else str(whole)) + point + cents,
    st.sampled_from(["", "+", "-"]), st.integers(0, 10**16), st.sampled_from(["", "."]),
    st.text("0123456789", max_size=3), st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(near_text(), decorated(AMOUNTS)), min_size=1, max_size=40))
def test_it_gives_the_polars_twin_the_answers_of_parse_yuan(texts):
    assert _twin(texts) == [_scalar(t) for t in texts]


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-10**14, max_value=10**14, places=2))
def test_it_reads_an_amount_as_its_exact_fen(amount):
    assert parse_yuan(str(amount)) == int(amount * 100)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**17) + 1, 10**17 - 1))  # 15 integer digits at most
def test_it_round_trips_fen_through_format_yuan(fen):
    assert parse_yuan(format_yuan(fen)) == fen
    assert fen_to_yuan(fen) == Decimal(format_yuan(fen))


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**15, 10**15), st.integers(-10**6, 10**6).filter(bool))
def test_it_divides_half_up_as_decimal_rounds(numerator, denominator):
    expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert div_half_up(numerator, denominator) == int(expected)


def test_it_refuses_a_division_by_zero():
    with pytest.raises(ZeroDivisionError):
        div_half_up(1, 0)


def test_it_rounds_yuan_half_up_to_cents():
    assert yuan("1.005") == Decimal("1.01") and yuan(3) == Decimal("3.00")
    with pytest.raises(MoneyError, match="不是金额"):
        yuan("abc")
