from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangfan.common import pii
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

    line = feed.lines[0]
    assert feed.problems == [] and line.plain == first17 + check_digit(first17) == convert_15_to_18(old)
    assert line.key == pii.id_index(line.plain) and "证件号码" not in line.values  # matched by the 18-digit ID's index


@given(st.dictionaries(st.sampled_from(["证件号码", "金额", "事项"]), st.text(max_size=8), min_size=1))
def test_it_keys_a_row_by_its_department_and_content(values):
    assert row_key("民政", values) == row_key("民政", dict(reversed(list(values.items()))))
    assert row_key("民政", values) != row_key("公安", values)
    assert len(row_key("民政", values)) == 64


_FIRST17 = "34122519400321001"
_VALID_ID = _FIRST17 + check_digit(_FIRST17)
_X_FIRST17 = next(f"3412251940032{n:04d}" for n in range(10_000) if check_digit(f"3412251940032{n:04d}") == "X")
# Per column: the usual spelling (half the cells) and others, valid or not.
_SPELLINGS = {
    "证件号码": (_VALID_ID, [_X_FIRST17 + "X", _X_FIRST17 + "x", f" {_VALID_ID} ", "341225400321001",
                             _FIRST17 + ("0" if _VALID_ID[-1] != "0" else "1"), "34122519401321001X", "", "abc"]),
    "结算日期": ("2026-03-02", ["2026/3/2", "20260302", "2026年3月2日", "46083", "2026-02-30", "2026-3-2", "",
                             "1899-12-31", "昨天"]),
    "医疗总费用": ("1234.50", ["1,234.5元", "￥12", "-5.00", "12.345", "", "0", "7.5", "1e3", "1234567890123456"]),
    "就医地": ("省内", ["省外", "外省", ""]),
}


@settings(deadline=None, max_examples=300)  # deadline: Polars' first use in the process
@given(st.lists(st.tuples(*[st.one_of(st.just(usual), st.sampled_from(others)) for usual, others in _SPELLINGS.values()]),
                min_size=1, max_size=12))
def test_it_reads_every_spelling_as_the_cell_by_cell_check_does(tmp_path_factory, rows):
    """read_feed's whole-file check takes only spellings the cell-by-cell check normalises the same
    way: its lines and problems are those of reading every row cell by cell."""
    from fangfan.departments import feeds

    path = tmp_path_factory.mktemp("feed") / "医保.csv"
    header = "证件号码,结算日期,医疗总费用,基本医保报销,大病保险报销,医疗救助,合规自付,就医地,执行分级诊疗"
    body = [f'"{i}","{d}","{a}",1.00,0,0,"{a}","{p}",是' for i, d, a, p in rows]
    path.write_text("\n".join([header, *body]) + "\n", encoding="utf-8")

    smallest = feeds.FAST_CHECK_MIN_ROWS
    feeds.FAST_CHECK_MIN_ROWS = 0  # the whole-file check, whatever the file's size
    try:
        fast = read_feed("医保", path)
    finally:
        feeds.FAST_CHECK_MIN_ROWS = smallest
    original = feeds._valid_values
    feeds._valid_values = lambda spec, where, body: [None] * len(body)
    try:
        slow = read_feed("医保", path)
    finally:
        feeds._valid_values = original

    assert [(x.row, x.key, x.values, x.row_key, x.values_json, x.plain) for x in fast.lines] == [
        (x.row, x.key, x.values, x.row_key, x.values_json, x.plain) for x in slow.lines]
    assert fast.problems == slow.problems


def test_it_reads_a_departments_keyed_hash_as_the_plain_ids_index(tmp_path):
    """A row sent with the index (either case, under "证件号码(加密索引)") is the row of its
    plain twin: same key and row key, no number; the whole-file check agrees with the cell-by-cell one."""
    from fangfan.departments import feeds

    other = _X_FIRST17 + "X"
    header = "证件号码,存款余额,有价证券市值\n"
    plain = tmp_path / "金融.csv"
    plain.write_text(header + f"{_VALID_ID},1.00,0\n{other.lower()},2.00,0\n", encoding="utf-8")
    hashed = tmp_path / "金融_hashed.csv"
    hashed.write_text(header.replace("证件号码", "证件号码(加密索引)")
                      + f"{pii.id_index(_VALID_ID)},1.00,0\n{pii.id_index(other).upper()},2.00,0\n", encoding="utf-8")

    a, b = read_feed("金融", plain), read_feed("金融", hashed)

    assert a.problems == b.problems == []
    assert [(x.key, x.row_key, x.values) for x in a.lines] == [(x.key, x.row_key, x.values) for x in b.lines]
    assert [x.plain for x in a.lines] == [_VALID_ID, other] and [x.plain for x in b.lines] == ["", ""]
    smallest = feeds.FAST_CHECK_MIN_ROWS
    feeds.FAST_CHECK_MIN_ROWS = 0
    try:
        fast = read_feed("金融", hashed)
    finally:
        feeds.FAST_CHECK_MIN_ROWS = smallest
    assert [(x.key, x.row_key) for x in fast.lines] == [(x.key, x.row_key) for x in b.lines]


@pytest.mark.parametrize("cell", ["0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdeg"])
def test_it_refuses_a_cell_that_is_neither_an_id_nor_an_index(tmp_path, cell):
    path = tmp_path / "金融.csv"
    path.write_text(f"证件号码,存款余额,有价证券市值\n{cell},1.00,0\n", encoding="utf-8")

    feed = read_feed("金融", path)

    assert [(p.row, p.column) for p in feed.problems] == [(2, "证件号码")] and cell not in str(feed.problems[0])
