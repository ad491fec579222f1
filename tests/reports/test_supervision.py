"""Q4 spot checks and the W8 problem ledger."""
import datetime as dt
import hashlib
import io

import polars as pl
import pytest

from fangfan.accounts.models import Role
from fangfan.reports import services
from fangfan.reports.models import Problem, SpotCheckItem
from fangfan.reports.selectors import build
from fangfan.workflows.errors import NotAllowed, WorkflowError
from tests.factories import UserFactory
from tests.reports.conftest import AS_OF, V1, V2, V3, household

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(places):
    for i in range(21):  # 甲镇: 21 脱贫户 → ⌈5% × 21⌉ = 2
        household(f"A{i:02d}", V1 if i % 2 else V2)
    household("O1", V1, household_type="ordinary")  # neither 脱贫户 nor monitored: not in the frame
    household("B1", V3, household_type="ordinary", category="marginal", identified_on=dt.date(2026, 1, 1))  # 乙镇: 1
    return UserFactory(username="xian", role=Role.COUNTY_RR, region_code="341225000000")


def test_it_draws_the_same_sample_for_the_same_seed_and_frame_in_every_township(registry):
    first = services.spot_check_draw(actor=registry, county="341225", as_of=AS_OF, seed=20260630)
    again = services.spot_check_draw(actor=registry, county="341225", as_of=AS_OF, seed=20260630)
    sample = sorted(first.items.values_list("household__household_number", "township_code"))
    assert sample == sorted(again.items.values_list("household__household_number", "township_code"))
    assert sorted({t for _, t in sample}) == ["341225103", "341225104"]
    assert [t for _, t in sample].count("341225103") == 2 and ("B1", "341225104") in sample
    # the stored frame is the one drawn from, with its hash and the seed
    frame = pl.read_parquet(io.BytesIO(bytes(first.frame)))
    assert frame.height == first.frame_households == 22 and "O1" not in frame["household_number"].to_list()
    assert hashlib.sha256(bytes(first.frame)).hexdigest() == first.frame_sha256
    assert services.draw(frame, seed=first.seed, ratio=services.Decimal(first.ratio))["household_number"].sort() \
        .to_list() == sorted(n for n, _ in sample)


def test_it_lets_only_supervisors_of_the_county_draw(registry):
    township = UserFactory(username="xiang", role=Role.TOWNSHIP, region_code="341225103000")
    other = UserFactory(username="other", role=Role.COUNTY_RR, region_code="130126000000")
    for actor in (township, other):
        with pytest.raises(NotAllowed):
            services.spot_check_draw(actor=actor, county="341225", as_of=AS_OF, seed=1)
    with pytest.raises(WorkflowError, match="县级区划代码应为6位数字"):
        services.spot_check_draw(actor=registry, county="3412", as_of=AS_OF, seed=1)


def test_it_sends_a_problem_found_to_the_ledger_and_closes_it_only_with_evidence(registry):
    check = services.spot_check_draw(actor=registry, county="341225", as_of=AS_OF, seed=7)
    item = check.items.get(township_code="341225104")
    with pytest.raises(WorkflowError, match="整改责任人"):
        services.spot_check_record(actor=registry, item=item, result="problem", note="收入漏统", on=AS_OF)
    item = services.spot_check_record(actor=registry, item=item, result="problem", note="收入漏统", on=AS_OF,
                                      owner="乙镇", deadline=dt.date(2026, 7, 15))
    problem = item.problem
    assert (problem.source, problem.village_code, problem.status) == ("spot_check", V3, "open")
    with pytest.raises(WorkflowError, match="整改佐证"):
        services.problem_close(actor=registry, problem=problem, evidence="  ", on=AS_OF, seen_version=1)
    closed = services.problem_close(actor=registry, problem=problem, evidence="已补录收入", on=dt.date(2026, 7, 10),
                                    seen_version=1)
    assert closed.status == "closed" and closed.evidence == "已补录收入"
    report = build(name="spot-check", actor=registry, region="", as_of=AS_OF)
    assert report.table("spot_check_townships").rows() == [
        ("341225103000", "甲镇", 2, 0, 0, "0.00%"), ("341225104000", "乙镇", 1, 1, 1, "100.00%")]


def test_it_rolls_up_open_and_overdue_problems_by_level(registry):
    def raise_(village, deadline):
        return services.problem_raise(actor=registry, source="supervision", village_code=village, description="台账",
                                      owner="村委会", deadline=deadline, on=dt.date(2026, 6, 1))

    raise_(V1, dt.date(2026, 6, 29))  # overdue at 06-30
    raise_(V1, dt.date(2026, 6, 30))  # due today: not overdue
    done = raise_(V2, dt.date(2026, 6, 10))
    services.problem_close(actor=registry, problem=done, evidence="照片", on=dt.date(2026, 6, 9), seen_version=1)
    raise_(V3, dt.date(2026, 6, 1))
    report = build(name="problem-ledger", actor=registry, region="", as_of=AS_OF)
    assert report.table("ledger_township").rows() == [("341225103000", "甲镇", 3, 2, 1, 1), ("341225104000", "乙镇", 1, 1, 1, 0)]
    assert report.table("ledger_county").rows() == [("341225000000", "阜南县", 4, 3, 2, 1)]
    assert [r[-1] for r in report.table("open_problems").rows()] == ["逾期", "逾期", "未到期"]
    with pytest.raises(NotAllowed):
        services.problem_raise(actor=UserFactory(username="c2", role=Role.VILLAGE, region_code=V1), source="supervision",
                               village_code=V3, description="越权", owner="x", deadline=AS_OF, on=AS_OF)


def test_it_sends_data_quality_problems_to_the_ledger_once(places):
    household("NOI", V1)  # no income row: Q09 (another household has one, so the year is 2025)
    household("INC", V1, incomes=[(2025, {"wage": 100})])
    county = UserFactory(username="xian2", role=Role.COUNTY_RR, region_code="341225000000")
    raised = services.problems_from_quality(actor=county, region="", as_of=AS_OF, rules=["Q09"], owner="一村",
                                            deadline=dt.date(2026, 7, 31))
    assert raised == 1
    assert list(Problem.objects.values_list("household__household_number", "rule", "source")) == [
        ("NOI", "Q09", "data_quality")]
    assert services.problems_from_quality(actor=county, region="", as_of=AS_OF, rules=["Q09"], owner="一村",
                                          deadline=dt.date(2026, 7, 31)) == 0
    with pytest.raises(WorkflowError, match="未知的数据质量规则"):
        services.problems_from_quality(actor=county, region="", as_of=AS_OF, rules=["Q99"], owner="x", deadline=AS_OF)
    assert SpotCheckItem.objects.count() == 0


def test_it_closes_a_problem_from_the_ledger_page_only_with_evidence(registry, client):
    problem = services.problem_raise(actor=registry, source="supervision", village_code=V1, description="未回访",
                                     owner="一村", deadline=dt.date(2026, 7, 1), on=dt.date(2026, 6, 1))
    client.force_login(registry)
    page = client.get("/reports/problem-ledger/?as_of=2026-06-30")
    assert "未回访" in page.content.decode()
    response = client.post(f"/reports/problems/{problem.pk}/close/", {"seen_version": "1", "evidence": ""}, follow=True)
    assert "销号须提供整改佐证" in response.content.decode()
    problem.refresh_from_db()
    assert problem.status == "open"
    client.post(f"/reports/problems/{problem.pk}/close/", {"seen_version": "1", "evidence": "回访记录已录入"})
    problem.refresh_from_db()
    assert (problem.status, problem.evidence) == ("closed", "回访记录已录入")
    village = UserFactory(username="cun3", role=Role.VILLAGE, region_code=V3)
    client.force_login(village)
    assert client.post(f"/reports/problems/{problem.pk}/close/", {"seen_version": "2", "evidence": "x"}).status_code == 404
