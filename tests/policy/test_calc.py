"""Calculators C1-C8: the readable case file (tests/policy/cases/calc.yaml), boundaries, exactness, the command."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fangfan.common.money import div_half_up
from fangfan.policy import calc
from fangfan.policy.calc import CALCULATORS, CalcError, Contract, KeyMember, Settlement, Worker
from fangfan.policy.params import ParameterSet

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "calc.yaml").read_text(encoding="utf-8"))
ANKANG = "610902001001"
FUNAN = "341225103201"
LINGSHOU = "130126100200"
GUANGXI = "450102001001"


@pytest.fixture(scope="module")
def params() -> ParameterSet:
    return ParameterSet.load()


def as_expected(value):
    """A result field in the case file's notation: money as '0.00' text, dates ISO, bools and ints as is."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def test_it_has_a_case_for_every_calculator_each_citing_its_plan():
    assert {case["calculator"] for case in CASES} == set(CALCULATORS)
    for case in CASES:
        assert "篇" in case["source"], case["case"]
        assert ("expect" in case) != ("error" in case), case["case"]


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_it_computes_the_case_file(params, case):
    on = case["date"] if isinstance(case["date"], dt.date) else dt.date.fromisoformat(case["date"])
    inputs = {k: str(v) for k, v in case["inputs"].items()}
    if "error" in case:
        with pytest.raises(CalcError, match=case["error"]):
            calc.run(params, case["calculator"], case["region"], on, inputs)
        return
    result = calc.run(params, case["calculator"], case["region"], on, inputs)
    for field, expected in case["expect"].items():
        assert as_expected(getattr(result, field)) == expected, (field, getattr(result, field))
    for fragment in case.get("reasons", []):
        assert any(fragment in reason for reason in (getattr(result, "reasons", ()) or result.violations)), fragment
    assert result.arithmetic and all(isinstance(line, str) and line for line in result.arithmetic)


# ------------------------------------------------------------------------------ C1
def test_it_shows_the_topup_arithmetic_with_numbers_and_sources(params):
    result = calc.dibao_topup(params, ANKANG, dt.date(2026, 6, 1), size=3, per_capita_dibao_income=Decimal("3000"), key_members=1)
    assert result.arithmetic[1] == (
        "月补差 = max(最低补差 30.00, (4830.00 − 3000.00) ÷ 12 × 3 = 457.50) = 457.50 元 [fangfan default; 篇五 (三)]"
    )
    assert "篇十四" in result.arithmetic[0]
    assert result.arithmetic[-1] == "每月发放 = 457.50 + 40.25 = 497.75 元"


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 9),
    income_fen=st.integers(0, 483000),
    key=st.integers(0, 9),
)
def test_it_tops_up_exactly_like_integer_fen_arithmetic(size, income_fen, key):
    params = ParameterSet.load()
    key = min(key, size)
    result = calc.dibao_topup(
        params, ANKANG, dt.date(2026, 6, 1), size=size, per_capita_dibao_income=Decimal(income_fen) / 100, key_members=key
    )
    line = 483000
    gap = div_half_up((line - income_fen) * size, 12)
    base = max(3000, gap)
    each = div_half_up(line * 10, 100 * 12)  # 10% of the line per month
    assert result.base_month == Decimal(base) / 100
    assert result.total_month == Decimal(base + each * key) / 100


def test_it_refuses_more_key_members_than_the_household_has_or_both_kinds_of_input(params):
    with pytest.raises(CalcError, match="重点保障人数"):
        calc.dibao_topup(params, ANKANG, dt.date(2026, 6, 1), size=2, per_capita_dibao_income=Decimal(1), key_members=3)
    with pytest.raises(CalcError, match="只能给一种"):
        calc.dibao_topup(
            params, ANKANG, dt.date(2026, 6, 1), size=2, per_capita_dibao_income=Decimal(1), key_members=1,
            members=[KeyMember("甲", serious_illness=True)],
        )


def test_it_counts_a_seriously_ill_or_severely_disabled_adult_as_key_group():
    on = dt.date(2026, 6, 1)
    assert calc.key_group_reason(KeyMember("甲", dt.date(1980, 1, 1), "1"), on) == "一级残疾(重残)"
    assert calc.key_group_reason(KeyMember("乙", dt.date(1980, 1, 1), "3"), on) is None
    assert calc.key_group_reason(KeyMember("丙", dt.date(1980, 1, 1), None, True), on) == "患有大病"
    assert calc.key_group_reason(KeyMember("丁", dt.date(1956, 6, 2)), on) is None  # 69 the day before turning 70


# ------------------------------------------------------------------------------ C2
@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-08-31", "2027-02-28"), ("2027-08-31", "2028-02-29"), ("2026-01-15", "2026-07-15"), ("2026-12-31", "2027-06-30")],
)
def test_it_ends_the_phase_out_on_the_clamped_month_end(params, start, end):
    result = calc.phase_out(params, GUANGXI, dt.date(2027, 1, 1), income_above_line_on=dt.date.fromisoformat(start))
    assert result.ends_on == dt.date.fromisoformat(end)
    assert "篇三" in result.arithmetic[-1]


def test_it_follows_a_changed_phase_out_period(params):
    changed = params.with_overrides([("dibao.phase_out_months", "450000", "3")])
    result = calc.phase_out(changed, GUANGXI, dt.date(2027, 1, 1), income_above_line_on=dt.date(2026, 11, 30))
    assert (result.months, result.ends_on) == (3, dt.date(2027, 2, 28))


# ------------------------------------------------------------------------------ C3
def test_it_counts_aid_already_paid_this_year_against_the_cap(params):
    result = calc.medical_aid(
        params, FUNAN, dt.date(2026, 6, 1),
        settlements=[Settlement("张三", Decimal("6000")), Settlement("张三", Decimal("6000"), settled_on=dt.date(2025, 12, 30))],
        already_aided={("张三", 2026): Decimal("8000")},
    )
    assert result.per_person[("张三", 2026)] == Decimal("2000")  # 3000 asked, 2000 left under the cap
    assert result.per_person[("张三", 2025)] == Decimal("3000")  # a different year has its own cap
    assert result.total == Decimal("5000")
    assert any("剩余额度 2000.00" in line for line in result.arithmetic)


def test_it_never_lets_the_no_referral_cut_make_a_negative_rate(params):
    changed = params.with_overrides([("medical_aid.no_referral_cut", "341225", "0.6")])
    result = calc.medical_aid(changed, FUNAN, dt.date(2026, 6, 1), settlements=[Settlement("甲", Decimal(100), False, False)])
    assert result.total == Decimal("0")


# ------------------------------------------------------------------------------ C5
@pytest.mark.parametrize(("persons", "award"), [(4, 0), (5, 10000), (9, 10000), (10, 20000), (19, 20000), (20, 30000), (45, 30000)])
def test_it_awards_the_workshop_tier_by_head_count(params, persons, award):
    result = calc.workshop_award(params, "110101001001", dt.date(2026, 6, 1), workers=[Worker(6, Decimal(1000))] * persons)
    assert result.award == Decimal(award)
    assert result.stable == 0


def test_it_pays_the_stable_post_subsidy_only_from_twelve_months_at_the_wage(params):
    workers = [Worker(11, Decimal(5000)), Worker(12, Decimal("999.99")), Worker(12, Decimal(1000)), Worker(24, Decimal(3000))]
    result = calc.workshop_award(params, "110101001001", dt.date(2026, 6, 1), workers=workers)
    assert (result.qualifying, result.award, result.stable, result.stable_subsidy) == (3, 0, 2, Decimal(2000))


# ------------------------------------------------------------------------------ C6
def test_it_returns_the_configured_freshman_grant_inside_the_range(params):
    changed = params.with_overrides([("education.freshman_grant_amount", "130126", "2500")])
    result = calc.education_aid(changed, LINGSHOU, dt.date(2026, 9, 1), newly_admitted=True)
    assert (result.grant_min, result.grant, result.grant_max) == (Decimal(2000), Decimal(2500), Decimal(3000))
    wrong = params.with_overrides([("education.freshman_grant_amount", "130126", "3500")])
    with pytest.raises(CalcError, match="不在"):
        calc.education_aid(wrong, LINGSHOU, dt.date(2026, 9, 1), newly_admitted=True)


# ------------------------------------------------------------------------------ C7
@pytest.mark.parametrize(
    ("birth", "eligible"),
    [("2008-06-02", False), ("2008-06-01", True), ("1960-06-02", True), ("1960-06-01", False)],
)
def test_it_checks_the_borrower_age_on_the_birthday(params, birth, eligible):
    result = calc.microcredit(
        params, FUNAN, dt.date(2026, 6, 1), birth_date=dt.date.fromisoformat(birth), full_civil_capacity=True,
        labor="ordinary", serious_bad_credit=False,
    )
    assert result.eligible is eligible
    assert bool(result.reasons) is not eligible


def test_it_ages_a_leap_day_birth_on_the_first_of_march():
    assert calc.age_on(dt.date(2008, 2, 29), dt.date(2026, 2, 28)) == 17
    assert calc.age_on(dt.date(2008, 2, 29), dt.date(2026, 3, 1)) == 18


def test_it_rejects_an_unknown_labour_value(params):
    with pytest.raises(CalcError, match="劳动技能"):
        calc.microcredit(params, FUNAN, dt.date(2026, 6, 1), birth_date=dt.date(1990, 1, 1), full_civil_capacity=True,
                         labor="很能干", serious_bad_credit=False)


# ------------------------------------------------------------------------------ C8
def test_it_rejects_a_contract_that_ends_before_it_starts(params):
    with pytest.raises(CalcError, match="早于"):
        calc.public_post(params, "110101001001", dt.date(2026, 6, 1), contracts=[Contract(dt.date(2026, 2, 1), dt.date(2026, 1, 1))])


# ------------------------------------------------------------------------------ text inputs
@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("dibao_topup", {"size": "3"}, "缺少输入 per_capita_dibao_income"),
        ("dibao_topup", {"size": "三", "per_capita_dibao_income": "1"}, "应为整数"),
        ("dibao_topup", {"size": "3", "per_capita_dibao_income": "1.234"}, "金额"),
        ("dibao_topup", {"size": "3", "per_capita_dibao_income": "1", "colour": "red"}, "没有输入 colour"),
        ("dibao_topup", {"size": "3", "per_capita_dibao_income": "1", "dibao_household": "也许"}, "是/否"),
        ("medical_aid", {"settlements": "张三:100:火星:是"}, "省内/省外"),
        ("medical_aid", {"settlements": "张三:100"}, "4 段"),
        ("phase_out", {"income_above_line_on": "2026-02-30"}, "日期不存在"),
        ("nothing", {}, "没有计算器"),
    ],
)
def test_it_explains_bad_text_inputs(params, name, raw, message):
    with pytest.raises(CalcError, match=message):
        calc.run(params, name, ANKANG, dt.date(2026, 6, 1), raw)


# ------------------------------------------------------------------------------ the command
def test_it_prints_the_amount_and_the_arithmetic(capsys):
    from django.core.management import call_command

    call_command(
        "calc", "dibao_topup", "size=3", "per_capita_dibao_income=3000", "key_members=1",
        region="610902001001", date="2026-06-01",
    )
    out = capsys.readouterr().out
    assert "total_month = 497.75 元" in out
    assert "月补差 = max(最低补差 30.00, (4830.00 − 3000.00) ÷ 12 × 3 = 457.50) = 457.50 元" in out
    call_command("calc", list=True)
    listing = capsys.readouterr().out
    assert all(name in listing for name in CALCULATORS)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("dibao_topup", "size=3"), {"region": ANKANG, "date": "2026-06-01"}, "缺少输入"),
        (("dibao_topup", "size"), {"region": ANKANG, "date": "2026-06-01"}, "key=value"),
        (("dibao_topup", "size=3", "per_capita_dibao_income=1"), {"region": ANKANG}, "--region 和 --date"),
        (("dibao_topup", "size=3", "per_capita_dibao_income=1"), {"region": ANKANG, "date": "2026-13-01"}, "--date"),
        (("dibao_topup", "size=3", "per_capita_dibao_income=1"), {"region": "6109x", "date": "2026-06-01"}, "区划代码"),
        (("nothing",), {"region": ANKANG, "date": "2026-06-01"}, "没有计算器"),
        ((), {}, "--list"),
    ],
)
def test_it_refuses_bad_command_input(args, kwargs, message):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=message):
        call_command("calc", *args, **kwargs)
