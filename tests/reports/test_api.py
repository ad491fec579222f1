"""The 抽查 and 问题台账 writes through /api/v1/reports: the pages' services, the API's errors
(Chinese detail; 400 bad input, 403 role or region, 404 outside the scope, 409 done meanwhile)."""
import datetime as dt

import pytest

from fangfan.accounts.models import Role
from fangfan.accounts.services import api_token_create
from fangfan.audit.models import AuditEvent
from fangfan.reports.models import Problem, SpotCheck, SpotCheckItem
from tests.factories import UserFactory
from tests.reports.conftest import V1, V3, household

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(places):
    for i in range(4):
        household(f"A{i}", V1)
    household("B1", V3)
    return UserFactory(username="xian", role=Role.COUNTY_RR, region_code="341225000000")


def api(client, actor):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=actor)}"}

    def post(path, body):
        return client.post(f"/api/v1/reports/{path}", body, content_type="application/json", **auth)
    return post


def test_it_draws_a_sample_and_records_each_result_once(client, registry):
    post = api(client, registry)
    drawn = post("spot-checks", {"county": "341225", "seed": 42})
    assert drawn.status_code == 201, drawn.json()
    body = drawn.json()
    assert body["seed"] == 42 and body["frame_households"] == 5
    assert sorted({i["township_code"] for i in body["items"]}) == ["341225103", "341225104"]
    assert SpotCheck.objects.get().seed == 42
    item = next(i for i in body["items"] if i["township_code"] == "341225104")
    missing = post(f"spot-checks/items/{item['id']}", {"result": "problem", "note": "收入漏统"})
    assert missing.status_code == 400 and "整改期限" in missing.json()["detail"]
    found = post(f"spot-checks/items/{item['id']}", {"result": "problem", "note": "收入漏统", "owner": "乙镇",
                                                      "deadline": "2026-07-31"})
    assert found.status_code == 200 and found.json()["result"] == "problem"
    problem = Problem.objects.get(pk=found.json()["problem_id"])
    assert (problem.source, problem.village_code, problem.owner) == ("spot_check", V3, "乙镇")
    again = post(f"spot-checks/items/{item['id']}", {"result": "agree"})
    assert again.status_code == 409 and "已录入" in again.json()["detail"]
    assert AuditEvent.objects.filter(action="spot_check.record").count() == 1


def test_it_refuses_a_draw_to_a_township_and_outside_the_county(client, registry):
    township = UserFactory(username="xiang", role=Role.TOWNSHIP, region_code="341225103000")
    refused = api(client, township)("spot-checks", {"county": "341225", "seed": 1})
    assert refused.status_code == 403 and "角色" in refused.json()["detail"]
    post = api(client, registry)
    assert post("spot-checks", {"county": "130126"}).status_code == 403
    bad = post("spot-checks", {"county": "3412"})
    assert bad.status_code == 400 and "县级区划代码应为6位数字" in bad.json()["detail"]
    assert SpotCheck.objects.count() == 0


def test_it_answers_not_found_for_an_item_outside_the_scope(client, registry):
    api(client, registry)("spot-checks", {"county": "341225", "seed": 3})
    item = SpotCheckItem.objects.get(township_code="341225104")
    village = UserFactory(username="cun", role=Role.VILLAGE, region_code=V1)
    response = api(client, village)(f"spot-checks/items/{item.pk}", {"result": "agree"})
    assert response.status_code == 404 and "管辖范围" in response.json()["detail"]
    item.refresh_from_db()
    assert item.result == ""


def test_it_raises_a_problem_and_closes_it_only_with_evidence_and_the_version_read(client, registry):
    village = UserFactory(username="cun", role=Role.VILLAGE, region_code=V1)
    post = api(client, village)
    raised = post("problems", {"village_code": V1, "description": "未回访", "owner": "一村", "deadline": "2099-07-31"})
    assert raised.status_code == 201 and raised.json()["status"] == "open" and raised.json()["version"] == 1
    pk = raised.json()["id"]
    outside = post("problems", {"village_code": V3, "description": "越权", "owner": "x", "deadline": "2099-07-31"})
    assert outside.status_code == 403 and "管辖范围" in outside.json()["detail"]
    late = post("problems", {"village_code": V1, "description": "x", "owner": "x", "deadline": "2000-01-01"})
    assert late.status_code == 400 and "早于发现日期" in late.json()["detail"]
    bad_code = post("problems", {"village_code": "34122510320x", "description": "x", "owner": "x",
                                 "deadline": "2099-07-31"})
    assert bad_code.status_code == 400 and "12位数字" in bad_code.json()["detail"]
    assert post("problems", {"village_code": V1}).status_code == 422
    empty = post(f"problems/{pk}/close", {"evidence": " ", "seen_version": 1})
    assert empty.status_code == 400 and "整改佐证" in empty.json()["detail"]
    stale = post(f"problems/{pk}/close", {"evidence": "照片", "seen_version": 0})
    assert stale.status_code == 409 and "他人修改" in stale.json()["detail"]
    closed = post(f"problems/{pk}/close", {"evidence": "回访记录已录入", "seen_version": 1})
    assert closed.status_code == 200 and (closed.json()["status"], closed.json()["version"]) == ("closed", 2)
    assert post(f"problems/{pk}/close", {"evidence": "再次", "seen_version": 2}).status_code == 409
    other = UserFactory(username="cun3", role=Role.VILLAGE, region_code=V3)
    assert api(client, other)(f"problems/{pk}/close", {"evidence": "x", "seen_version": 2}).status_code == 404
    dept = UserFactory(username="yibao", role=Role.COUNTY_DEPT, region_code="341225000000", department="医保")
    assert api(client, dept)(f"problems/{pk}/close", {"evidence": "x", "seen_version": 2}).status_code == 403
    assert Problem.objects.get(pk=pk).evidence == "回访记录已录入"


def test_it_sends_data_quality_problems_to_the_ledger(client, registry):
    post = api(client, registry)
    household("INC", V1, incomes=[(2025, {"wage": 100})])  # the others have no 2025 row: Q09
    sent = post("problems/from-quality", {"rules": ["Q09"], "owner": "村委会", "deadline": "2026-07-31"})
    assert sent.status_code == 201 and sent.json() == {"raised": 5}
    unknown = post("problems/from-quality", {"rules": ["Q99"], "owner": "x", "deadline": "2026-07-31"})
    assert unknown.status_code == 400 and "未知的数据质量规则" in unknown.json()["detail"]
    assert Problem.objects.filter(source="data_quality").count() == 5
