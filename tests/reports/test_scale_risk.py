"""Q2 规模性返贫风险 and M7 on a small registry, against tables computed by hand (boundary: exactly 2%)."""
import datetime as dt

import pytest

from fangfan.regions.models import Region
from fangfan.reports.selectors import build
from tests.reports.conftest import AS_OF, V1, V2, V3, household

pytestmark = pytest.mark.django_db
MONITORED = {"category": "unstable_lifted", "identified_on": dt.date(2025, 1, 1)}


@pytest.fixture
def registry(places):
    Region.objects.filter(code=V2).update(delisted=True)
    # 一村: 2 monitored of 100 persons = exactly 2% (not flagged); the deceased member and the
    # eliminated household do not count as monitored persons.
    household("M1", V1, persons=2, dead=1, **MONITORED)
    household("E1", V1, persons=3, category="unstable_lifted", identified_on=dt.date(2025, 1, 1),
              eliminated_on=dt.date(2026, 1, 1))
    for i in range(19):
        household(f"V1-{i}", V1, persons=5)
    # 二村 (出列村): 2 of 50 = 4%
    household("M2", V2, persons=2, household_type="ordinary", category="marginal", identified_on=dt.date(2025, 3, 1))
    for i in range(6):
        household(f"V2-{i}", V2, persons=8)
    # 三村: 1 of 49 = 2.04%, just above the line; identified after the as-of date does not count yet
    household("M3", V3, persons=1, household_type="ordinary", category="marginal", identified_on=dt.date(2025, 3, 1))
    household("L3", V3, persons=0, household_type="ordinary", category="marginal", identified_on=dt.date(2026, 7, 1))
    for i in range(6):
        household(f"V3-{i}", V3, persons=8)


def test_it_flags_villages_strictly_above_two_percent_and_shows_delisted_ones(registry):
    report = build(name="scale-risk", actor=None, region="341225", as_of=AS_OF)
    villages = report.table("villages")
    assert villages.columns == ["区划代码", "名称", "乡镇", "出列村", "农村户籍人口", "未消除风险监测人口", "监测户数",
                                "监测人口占比", "超过警戒线"]
    assert villages.rows() == [
        (V1, "一村", "甲镇", "否", 100, 2, 1, "2.00%", "否"),
        (V2, "二村", "甲镇", "是", 50, 2, 1, "4.00%", "是"),
        (V3, "三村", "乙镇", "否", 49, 1, 1, "2.04%", "是"),
    ]


def test_it_compares_monitored_households_with_the_scale_guide(registry):
    report = build(name="scale-risk", actor=None, region="341225", as_of=AS_OF)
    # 脱贫户: 甲镇 M1 E1 + 19 + 6 = 27, 乙镇 6; monitored: 甲镇 M1 M2, 乙镇 M3
    assert report.table("guide_township").rows() == [
        ("341225103000", "甲镇", 2, 1, 1, 27, 2, "7.41%", "5.00%", "接近参考"),
        ("341225104000", "乙镇", 1, 1, 0, 6, 1, "16.67%", "5.00%", "明显偏高"),
    ]
    assert report.table("guide_county").rows() == [("341225000000", "阜南县", 3, 2, 1, 33, 3, "9.09%", "5.00%", "接近参考")]


def test_it_ranks_the_risks_of_monitored_households_by_township(registry):
    from fangfan.registry.models import Household

    Household.objects.filter(household_number__in=["M1", "M2"]).update(declared_risks="R01;R04")
    Household.objects.filter(household_number="M3").update(declared_risks="R04")
    rows = build(name="scale-risk", actor=None, region="341225", as_of=AS_OF).table("risk_concentration").rows()
    assert rows == [("341225103000", "甲镇", "因病", 2, "100.00%"), ("341225103000", "甲镇", "因自然灾害", 2, "66.67%"),
                    ("341225104000", "乙镇", "因自然灾害", 1, "33.33%")]


def test_it_reports_only_inside_the_actors_region(registry):
    from django.http import Http404

    from fangfan.accounts.models import Role
    from tests.factories import UserFactory

    township = UserFactory(username="t1", role=Role.TOWNSHIP, region_code="341225103000")
    rows = build(name="scale-risk", actor=township, region="", as_of=AS_OF).table("villages").rows()
    assert [r[0] for r in rows] == [V1, V2]
    with pytest.raises(Http404):
        build(name="scale-risk", actor=township, region=V3, as_of=AS_OF)


def test_it_counts_the_same_persons_from_the_members_frame_as_from_the_database(registry):
    """The member counts come from SQL, or from the members frame once the data-quality report has
    read it (the benchmark's order): both ways give the same tables."""
    from fangfan.reports.data import Snapshot

    shared = Snapshot(prefix="341225", as_of=AS_OF)
    build(name="data-quality", actor=None, region="341225", as_of=AS_OF, snapshot=shared)
    assert "members" in shared.__dict__
    for name in ("scale-risk", "county-summary", "june"):
        reused = build(name=name, actor=None, region="341225", as_of=AS_OF, snapshot=shared)
        fresh = build(name=name, actor=None, region="341225", as_of=AS_OF)
        assert [t.rows() for t in reused.tables] == [t.rows() for t in fresh.tables], name
