"""Q1 收入变化排查 on a small registry, against tables computed by hand."""
import pytest

from fangfan.reports.selectors import build
from tests.reports.conftest import AS_OF, V1, V2, V3, household

pytestmark = pytest.mark.django_db

W = 100  # fen per yuan


@pytest.fixture
def registry(places):
    # 甲镇 一村
    household("A", V1, incomes=[(2024, {"wage": 10000 * W}), (2025, {"wage": 11000 * W})])  # +10% exactly: met
    household("B", V1, incomes=[(2024, {"wage": 10000 * W}), (2025, {"wage": 11000 * W - 1})])  # one fen short
    household("C", V1, incomes=[
        (2024, {"wage": 8000 * W, "transfer_income": 2000 * W, "dibao_payment": 2000 * W}),
        (2025, {"wage": 7000 * W, "decline_reasons": "4;6"})])
    household("D", V1, declared_risks="R04", incomes=[
        (2024, {"business_income": 5000 * W, "business_cost": 1000 * W}),
        (2025, {"business_income": 3000 * W, "business_cost": 1000 * W})])
    household("E", V1, incomes=[(2024, {"wage": 5000 * W}), (2025, {"wage": 5000 * W})])
    # 甲镇 二村
    household("F", V2, incomes=[(2024, {"business_income": 5000 * W}),
                                (2025, {"business_income": 4000 * W, "decline_reasons": "1"})])
    household("G", V2, household_type="ordinary", incomes=[(2024, {"wage": 9000 * W}), (2025, {"wage": 1000 * W})])
    household("H", V2, incomes=[(2025, {"wage": 1000 * W})])
    # 乙镇 三村: exactly five 减收 households, and a monitored ordinary household that gains
    for i in range(5):
        household(f"K{i}", V3, incomes=[(2024, {"wage": 6000 * W}),
                                       (2025, {"wage": 5000 * W, "decline_reasons": "4" if i < 3 else "10"})])
    household("M", V3, household_type="ordinary", category="marginal", identified_on=AS_OF.replace(year=2025),
              incomes=[(2024, {"wage": 0}), (2025, {"wage": 1000 * W})])


def _reasons(counts: dict, down: int) -> list:
    cells = []
    for code in map(str, range(1, 11)):
        n = counts.get(code, 0)
        cells += [n, "—" if not down else f"{n * 100 / down:.2f}%"]
    return cells


def test_it_rolls_up_households_reasons_and_the_veto_by_township(registry):
    report = build(name="income-change", actor=None, region="341225", as_of=AS_OF)
    county = report.table("by_county")
    assert county.columns[:8] == ["区划代码", "名称", "比较户数", "增收户数", "减收户数", "持平户数", "减收比例",
                                  "达到增长目标户数"]
    assert county.columns[8:10] == ["1.种养业经营减收(户)", "1.种养业经营减收占比"]
    # compared: A B C D E F (甲镇) + K0-K4 M (乙镇) = 12; G is neither 脱贫户 nor 监测户, H has one year
    assert county.rows() == [("341225000000", "阜南县", 12, 3, 8, 1, "66.67%", 2,
                              *_reasons({"1": 1, "4": 4, "6": 1, "10": 2}, 8))]
    assert report.table("by_township").rows() == [
        ("341225103000", "甲镇", 6, 2, 3, 1, "50.00%", 1, "否", *_reasons({"1": 1, "4": 1, "6": 1}, 3)),
        ("341225104000", "乙镇", 6, 1, 5, 0, "83.33%", 1, "是", *_reasons({"4": 3, "10": 2}, 5)),
    ]
    assert report.table("by_village").rows() == [
        (V1, "一村", 5, 2, 2, 1, "40.00%", 1, *_reasons({"4": 1, "6": 1}, 2)),
        (V2, "二村", 1, 0, 1, 0, "100.00%", 0, *_reasons({"1": 1}, 1)),
        (V3, "三村", 6, 1, 5, 0, "83.33%", 1, *_reasons({"4": 3, "10": 2}, 5)),
    ]


def test_it_lists_each_declining_household_with_recorded_and_suggested_reasons(registry):
    detail = build(name="income-change", actor=None, region="341225103", as_of=AS_OF).table("decline_households")
    assert detail.columns == ["户编号", "村代码", "村名", "户类型", "监测对象类别", "上年纯收入(元)", "本年纯收入(元)",
                              "增减(元)", "状态", "减收项目", "达到增长目标", "记录的减收原因", "系统建议原因"]
    assert detail.rows() == [
        ("C", V1, "一村", "脱贫户", "", "10000.00", "7000.00", "-3000.00", "减收", "工资性、转移性", "否",
         "务工就业减收、低保被取消", "务工就业减收、低保被取消"),
        ("D", V1, "一村", "脱贫户", "", "4000.00", "2000.00", "-2000.00", "减收", "经营性", "否", "", "自然灾害"),
        ("F", V2, "二村", "脱贫户", "", "5000.00", "4000.00", "-1000.00", "减收", "经营性", "否",
         "种养业经营减收", "种养业经营减收"),
    ]


def test_it_flags_a_township_only_from_the_parameters_count(registry, settings):
    """Four 减收 households in 乙镇 (one fewer than the 5 of 篇一) is no veto."""
    from fangfan.registry.models import IncomeYear

    IncomeYear.objects.filter(household__household_number="K4", year=2025).update(wage=6000 * W)
    rows = build(name="income-change", actor=None, region="341225104", as_of=AS_OF).table("by_township").rows()
    assert rows[0][4] == 4 and rows[0][8] == "否"
