"""The exact helpers every rule relies on: half-up division to the fen and month arithmetic."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from fangfan.common.dates import add_months
from fangfan.policy.frame import div_half_up, yuan_text
from fangfan.policy.rules.elimination import months_after


def _decimal_half_up(n: int, d: int) -> int:
    return int((Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**12, 10**12), st.integers(1, 50)), min_size=1, max_size=40))
def test_it_divides_half_up_exactly_like_decimal_including_negative_amounts(pairs):
    frame = pl.DataFrame({"n": [p[0] for p in pairs], "d": [p[1] for p in pairs]}, schema={"n": pl.Int64, "d": pl.Int64})
    got = frame.select(div_half_up(pl.col("n"), pl.col("d"))).to_series().to_list()
    assert got == [_decimal_half_up(n, d) for n, d in pairs]


def test_it_rounds_ties_away_from_zero():
    frame = pl.DataFrame({"n": [1, -1, 3, -3, 1199999, 599999], "d": [2, 2, 2, 2, 2, 3]})
    got = frame.select(div_half_up(pl.col("n"), pl.col("d"))).to_series().to_list()
    assert got == [1, -1, 2, -2, 600000, 200000]


def test_it_gives_no_per_capita_amount_for_a_household_without_members():
    frame = pl.DataFrame({"n": [100, None], "d": [0, 2]}, schema={"n": pl.Int64, "d": pl.Int64})
    assert frame.select(div_half_up(pl.col("n"), pl.col("d"))).to_series().to_list() == [None, None]


def test_it_writes_fen_as_yuan_with_two_decimals():
    frame = pl.DataFrame({"f": [123450, 5, -101, 0, None]}, schema={"f": pl.Int64})
    assert frame.select(yuan_text(pl.col("f"))).to_series().to_list() == ["1234.50", "0.05", "-1.01", "0.00", ""]


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(2000, 1, 1), dt.date(2090, 12, 31)), st.integers(0, 36))
def test_it_adds_calendar_months_clamped_to_month_end_like_the_common_helper(day, months):
    frame = pl.DataFrame({"d": [day], "m": [months]}, schema={"d": pl.Date, "m": pl.Int64})
    assert frame.select(months_after(pl.col("d"), pl.col("m"))).item() == add_months(day, months)
