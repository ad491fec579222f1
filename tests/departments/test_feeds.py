from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangfan.common.ids import check_digit, convert_15_to_18
from fangfan.departments.feeds import parse_period, period_from_name, read_feed, row_key


@given(st.integers(2000, 2099), st.integers(1, 12), st.sampled_from(["{y}-{m:02d}", "{y}{m:02d}", "{y}年{m}月", "{y}-{m}"]))
def test_it_reads_a_period_in_every_usual_spelling(year, month, spelling):
    assert parse_period(spelling.format(y=year, m=month)) == f"{year}-{month:02d}"


@pytest.mark.parametrize("text", ["2026-13", "26-03", "", "2026-03-01"])
def test_it_refuses_a_bad_period_in_chinese(text):
    with pytest.raises(ValueError, match="数据期应为 YYYY-MM"):
        parse_period(text)


def test_it_takes_the_period_from_the_file_name_or_the_month():
    today = dt.date(2026, 7, 9)
    assert period_from_name("医保_2026-03.csv", today) == "2026-03"
    assert period_from_name("民政202611.xlsx", today) == "2026-11"
    assert period_from_name("医保.csv", today) == "2026-07"


@given(st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31)), st.integers(0, 999))
def test_it_reads_a_15_digit_id_as_its_18_digit_number(tmp_path_factory, born, seq):
    old = f"341225{born:%y%m%d}{seq:03d}"
    first17 = f"341225{born:%Y%m%d}{seq:03d}"
    path = tmp_path_factory.mktemp("feed") / "金融.csv"
    path.write_text(f"证件号码,存款余额,有价证券市值\n{old},1.00,0\n", encoding="utf-8")

    feed = read_feed("金融", path)

    assert feed.problems == [] and feed.lines[0].key == first17 + check_digit(first17) == convert_15_to_18(old)


@given(st.dictionaries(st.sampled_from(["证件号码", "金额", "事项"]), st.text(max_size=8), min_size=1))
def test_it_keys_a_row_by_its_department_and_content(values):
    assert row_key("民政", values) == row_key("民政", dict(reversed(list(values.items()))))
    assert row_key("民政", values) != row_key("公安", values)
    assert len(row_key("民政", values)) == 64
