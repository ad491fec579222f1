"""The dashboard's report charts (Q1 减收户, Q2 监测人口占比 against the 2% line, Q3 数据质量得分):
their numbers are the reports' own, on a small registry with hand-computed figures."""
import datetime as dt
from decimal import Decimal

import pytest

from fangfan.regions.models import Region
from fangfan.reports.charts import report_charts
from fangfan.reports.selectors import build
from tests.reports.conftest import AS_OF, COUNTY, T1, V1, V2, V3, household

pytestmark = pytest.mark.django_db
MONITORED = {"category": "unstable_lifted", "identified_on": dt.date(2025, 1, 1)}
W = 100  # fen per yuan
DOWN = [(2024, {"wage": 6000 * W}), (2025, {"wage": 5000 * W})]
UP = [(2024, {"wage": 5000 * W}), (2025, {"wage": 6000 * W})]


@pytest.fixture
def registry(places):
    Region.objects.filter(code=V2).update(delisted=True)
    # 甲镇 一村: 2 monitored of 100 persons = exactly 2% (not over the line); 1 减收, 1 增收
    household("M1", V1, persons=2, dead=1, **MONITORED)
    household("E1", V1, persons=3, category="unstable_lifted", identified_on=dt.date(2025, 1, 1),
              eliminated_on=dt.date(2026, 1, 1))
    for i in range(19):
        household(f"V1-{i}", V1, persons=5, incomes=DOWN if i == 0 else UP if i == 1 else ())
    # 甲镇 二村 (出列村): 2 of 50 = 4%
    household("M2", V2, persons=2, household_type="ordinary", category="marginal", identified_on=dt.date(2025, 3, 1))
    for i in range(6):
        household(f"V2-{i}", V2, persons=8)
    # 乙镇 三村: 1 of 49 = 2.04%; exactly five 减收 households (the 一票否决 count) and one flat
    household("M3", V3, persons=1, household_type="ordinary", category="marginal", identified_on=dt.date(2025, 3, 1))
    for i in range(6):
        household(f"V3-{i}", V3, persons=8, incomes=DOWN if i < 5 else [(2024, {"wage": W}), (2025, {"wage": W})])


def charts(region=COUNTY):
    return {c["key"]: c for c in report_charts(actor=None, region=region, as_of=AS_OF)}


def cells(chart):
    return [(r["label"], *r["values"], *r["extras"]) for r in chart["rows"]]


def test_it_counts_declining_households_by_township_with_the_five_household_flag(registry):
    chart = charts()["income_decline"]
    assert chart["title"] == "收入变化排查: 减收户数(按乡镇)" and chart["kind"] == "bars"
    assert [s["label"] for s in chart["series"]] == ["比较户数", "减收户数"]
    assert chart["extras"] == ["减收比例", "一票否决风险"]
    assert cells(chart) == [("甲镇", 2, 1, "50.00%", "否"), ("乙镇", 6, 5, "83.33%", "是")]
    assert chart["totals"] == [8, 6] and chart["extra_totals"] == ["75.00%", ""]
    assert "乡镇减收5户及以上标为一票否决风险" in chart["note"] and "本次标为一票否决风险: 乙镇" in chart["note"]
    # The same figures as the report's township table.
    table = build(name="income-change", actor=None, region=COUNTY, as_of=AS_OF).table("by_township")
    assert [(r[1], r[2], r[4], r[6], r[8]) for r in table.rows()] == cells(chart)


def test_it_shows_the_monitored_population_ratio_against_the_two_percent_line(registry):
    chart = charts()["scale_ratio"]
    assert chart["kind"] == "ratio" and chart["unit"] == "%"
    assert chart["line"] == {"label": "警戒线 2.00%", "value": Decimal("2.00")}
    assert chart["extras"] == ["农村户籍人口", "未消除风险监测人口", "超过警戒线村数"]
    # 甲镇 4 of 150 with 二村 over the line (一村 is exactly 2%); 乙镇 1 of 49.
    assert cells(chart) == [("甲镇", Decimal("2.67"), "150", "4", "1"), ("乙镇", Decimal("2.04"), "49", "1", "1")]
    assert chart["totals"] == [Decimal("2.51")] and chart["extra_totals"] == ["199", "5", "2"]
    town = charts(T1)["scale_ratio"]
    assert town["title"].endswith("(按村)")
    assert cells(town) == [("一村", Decimal("2.00"), "100", "2", "否", "否"),
                           ("二村", Decimal("4.00"), "50", "2", "是", "是")]
    villages = build(name="scale-risk", actor=None, region=T1, as_of=AS_OF).table("villages")
    assert [(r[1], r[7], r[8]) for r in villages.rows()] == [
        (label, f"{ratio}%", over) for label, ratio, _, _, over, _ in cells(town)]


def test_it_scores_data_quality_by_township_as_the_report_does(registry):
    chart = charts()["quality_score"]
    assert chart["extras"] == ["户数", "有问题户数", "问题数"]
    report = build(name="data-quality", actor=None, region=COUNTY, as_of=AS_OF)
    township = report.table("score_township").rows()
    assert [r["region"] for r in chart["rows"]] == ["341225103000", "341225104000"]
    assert [(r["label"], r["values"][0], *r["extras"]) for r in chart["rows"]] == [
        (name, Decimal(score.rstrip("%")), str(n), str(bad), str(problems))
        for _, name, n, bad, problems, score in township]
    assert [r[2] for r in township] == [28, 7]  # households: 甲镇 2 + 19 + 1 + 6, 乙镇 1 + 6
    (_, _, n, bad, problems, score), = report.table("score_county").rows()
    assert chart["totals"] == [Decimal(score.rstrip("%"))] and chart["extra_totals"] == [str(n), str(bad), str(problems)]
