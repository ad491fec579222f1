import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangfan.common.dates import (
    EXCEL_EPOCH,
    MISSING_REASON,
    RANGE_REASON,
    UNREADABLE_REASON,
    DateError,
    add_months,
    date_expr,
    parse_date,
)
from tests.common.strategies import decorated, near_text


def _scalar(text):
    try:
        return parse_date(text), None
    except DateError as exc:
        return None, exc.reason


def _twin(texts):
    day, reason = date_expr(pl.col("t"))
    return pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(day.alias("d"), reason.alias("r")).rows()


@pytest.mark.parametrize(
    "text",
    ["2026-03-02", "2026-3-2", "2026/03/02", "2026.3.2", "20260302", "2026年3月2日", "2026年3月2", "46083", "46083.75",
     " 2026-03-02 00:00:00 ", "2026-03-02T08:30", "2026/3/2 8:05:09.5"],
)
def test_it_reads_the_spellings_of_data_md(text):
    assert parse_date(text) == dt.date(2026, 3, 2)
    assert _twin([text]) == [(dt.date(2026, 3, 2), None)]


@pytest.mark.parametrize(
    ("text", "reason"),
    [("2026-13-02", UNREADABLE_REASON), ("2026-02-32", UNREADABLE_REASON), ("2026", UNREADABLE_REASON), ("", UNREADABLE_REASON),
     ("２０２６-03-02", UNREADABLE_REASON), ("去年", UNREADABLE_REASON), ("2026-02-30", MISSING_REASON), ("2100-02-29", MISSING_REASON),
     ("1899-12-31", RANGE_REASON), ("0000-02-30", RANGE_REASON), ("99999", RANGE_REASON)],
)
def test_it_refuses_what_is_not_a_date_with_the_reason(text, reason):
    with pytest.raises(DateError) as exc:
        parse_date(text)
    assert exc.value.reason == reason and repr(text) in str(exc.value)
    assert _twin([text]) == [(None, reason)]


def test_it_gives_the_twin_no_answer_for_an_empty_cell():
    assert _twin([None]) == [(None, None)]


SPELLINGS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d 00:00:00")
DAYS = st.dates(dt.date(1890, 1, 1), dt.date(2110, 12, 31))


def _spelled(day, spelling, unpadded):
    text = day.strftime(spelling)
    return text.replace("-0", "-").replace("/0", "/") if unpadded else text


TEXTS = st.one_of(
    near_text(),
    decorated(st.builds(_spelled, DAYS, st.sampled_from(SPELLINGS), st.booleans())),
    decorated(st.builds(lambda y, m, d, sep: f"{y:04d}{sep}{m}{sep}{d}", st.integers(0, 2200), st.integers(0, 14), st.integers(0, 33), st.sampled_from("-/."))),
    decorated(st.integers(0, 120000).map(str)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=40))
def test_it_gives_the_polars_twin_the_answers_of_parse_date(texts):
    assert _twin(texts) == [_scalar(t) for t in texts]


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), st.sampled_from(SPELLINGS))
def test_it_reads_every_date_of_the_range_in_every_spelling(day, spelling):
    assert parse_date(day.strftime(spelling)) == day


@settings(max_examples=200, deadline=None)
@given(st.integers(10000, 73050))
def test_it_reads_excel_serials_from_the_1900_epoch(serial):
    assert parse_date(str(serial)) == EXCEL_EPOCH + dt.timedelta(days=serial)


def test_it_takes_four_digits_for_a_year_not_a_serial():
    with pytest.raises(DateError, match="无法识别"):
        parse_date("2026")


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [(dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)), (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
     (dt.date(2026, 12, 15), 1, dt.date(2027, 1, 15)), (dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28))],
)
def test_it_adds_calendar_months_clamped_to_the_month_end(day, months, expected):
    assert add_months(day, months) == expected
