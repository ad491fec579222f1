"""/api/v1/cases/: list, case, available transitions, advance (404/403/400/409/422), opening,
plans and visits — scoped like the pages."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fangfan.accounts.services import api_token_create
from fangfan.workflows import identification as W1
from fangfan.workflows.models import Case, Notice, Visit
from tests.factories import IncomeYearFactory
from tests.workflows.factories import FUNAN, HUNAN, fake_rule_result, household, staff

pytestmark = pytest.mark.django_db



@pytest.fixture
def people(monkeypatch):
    fake_rule_result(monkeypatch)
    return staff(FUNAN)


class Api:
    def __init__(self, client, user):
        admin = user  # api_token_create lets a user make their own token
        self.client, self.token = client, api_token_create(actor=admin, user=user, name="test")

    def get(self, url):
        return self.client.get(f"/api/v1/cases{url}", HTTP_AUTHORIZATION=f"Bearer {self.token}")

    def post(self, url, body):
        return self.client.post(f"/api/v1/cases{url}", body, content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {self.token}")


def today():
    return timezone.localdate()


def test_it_opens_and_advances_a_case_through_the_village_steps(client, people):
    h = household(FUNAN)
    api = Api(client, people["village"])
    response = api.post("/", {"household_number": h.household_number, "channel": "干部走访排查",
                              "reason": "因病", "consent_signer": "张三"})
    assert response.status_code == 201, response.json()
    case_id = response.json()["id"]
    assert response.json()["state"] == "applied" and response.json()["version"] == 1

    offered = api.get(f"/{case_id}/transitions").json()["transitions"]
    home_check = next(t for t in offered if t["name"] == "home_check")
    assert home_check["enabled"] and home_check["requires"] == ["investigators", "form"]
    form_field = next(f for f in home_check["fields"] if f["key"] == "form")
    assert {"net_income_estimate", "labour", "findings"} <= {f["key"] for f in form_field["fields"]}

    bad = api.post(f"/{case_id}/transitions/home_check", {"seen_version": 1, "data": {"investigators": ["李四"]}})
    assert bad.status_code == 422 and "调查人员" in bad.json()["detail"]
    response = api.post(f"/{case_id}/transitions/home_check", {"seen_version": 1, "data": {
        "investigators": ["李四", "王五"],
        "form": {"household_size": 3, "net_income_estimate": "5200", "labour": "able", "findings": "住院",
                 "housing_ok": True},
    }})
    assert response.status_code == 200, response.json()
    case = Case.objects.get(pk=case_id)
    assert case.state == "checked" and case.data["home_check"]["form"]["net_income_estimate"] == 520000

    stale = api.post(f"/{case_id}/transitions/village_review", {"seen_version": 1, "data": {}})
    assert stale.status_code in (409, 422)
    stale = api.post(f"/{case_id}/transitions/village_review", {"seen_version": 1, "data": {
        "members": ["甲", "乙"], "decision": "include", "category": "marginal", "risks": ["R01"]}})
    assert stale.status_code == 409 and "请刷新" in stale.json()["detail"]
    ok = api.post(f"/{case_id}/transitions/village_review", {"seen_version": 2, "data": {
        "members": ["甲", "乙"], "decision": "include", "category": "marginal", "risks": "R01;R09"}})
    assert ok.status_code == 200 and ok.json()["state"] == "village_notice"

    close = api.post(f"/{case_id}/transitions/close_village_notice", {"seen_version": 3})
    closable = today() + dt.timedelta(days=5)
    assert close.status_code == 400 and f"{closable:%Y-%m-%d}起方可结束" in close.json()["detail"]
    blocked = next(t for t in api.get(f"/{case_id}/transitions").json()["transitions"]
                   if t["name"] == "close_village_notice")
    assert not blocked["enabled"] and "起方可结束" in blocked["blocked_reasons"][0]

    Notice.objects.filter(case_id=case_id).update(starts_on=today() - dt.timedelta(days=5))
    assert api.post(f"/{case_id}/transitions/close_village_notice", {"seen_version": 3}).status_code == 200
    # The village may not take the township's step.
    denied = api.post(f"/{case_id}/transitions/township_approve", {"seen_version": 4, "data": {"signed_by": "x"}})
    assert denied.status_code == 403 and "乡镇" in denied.json()["detail"]
    township = Api(client, people["township"])
    assert township.post(f"/{case_id}/transitions/township_approve",
                         {"seen_version": 4, "data": {"signed_by": "乡长"}}).status_code == 200

    detail = api.get(f"/{case_id}").json()
    assert [e["transition"] for e in detail["events"]] == [
        "open", "home_check", "village_review", "close_village_notice", "township_approve"]
    assert detail["notices"][0]["days"] == 5 and detail["state"] == "county_comparison"


def test_it_hides_other_regions_and_lists_only_own_cases(client, people):
    other = W1.identification_open(actor=staff(HUNAN)["village"], household=household(HUNAN), channel="proxy",
                                   on=today())
    mine = W1.identification_open(actor=people["village"], household=household(FUNAN), channel="proxy", on=today())
    api = Api(client, people["village"])
    assert api.get(f"/{other.pk}").status_code == 404
    assert api.get(f"/{other.pk}/transitions").status_code == 404
    assert api.post(f"/{other.pk}/transitions/withdraw", {"seen_version": 1, "comment": "x"}).status_code == 404
    assert api.post("/", {"household_number": other.household.household_number, "channel": "proxy"}
                    ).status_code == 404
    listing = api.get("/?kind=identification").json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == mine.pk
    assert api.get("/?state=nonsense").json()["count"] == 0
    assert api.get("/?village=abc").status_code == 422
    assert api.post(f"/{mine.pk}/transitions/no_such_step", {"seen_version": 1}).status_code == 404


def test_it_answers_bad_input_with_json_not_a_server_error(client, people):
    case = W1.identification_open(actor=people["village"], household=household(FUNAN), channel="proxy", on=today())
    api = Api(client, people["village"])
    for body in ({"seen_version": "x"}, {"seen_version": 1, "data": {"signer_name": ["a", {"b": 1}]}},
                 {"seen_version": 1, "comment": "\x00"}, {"seen_version": 10**12},
                 {"seen_version": 1, "data": {"signer_name": "张三"}, "on": "2999-01-01"}):
        response = api.post(f"/{case.pk}/transitions/record_consent", body)
        assert response.status_code in (400, 409, 422), (body, response.status_code)
        assert response.json()["detail"]
    # A NUL is refused before any handler (fangfan.web.middleware), on every database alike.
    assert api.post("/", {"household_number": "x\x00", "channel": "proxy"}).status_code == 400
    assert api.post("/", {"household_number": case.household.household_number, "channel": "nonsense"}
                    ).status_code == 400


def test_it_records_a_plan_and_a_visit(client, people):
    h = household(FUNAN, category="marginal", identified_on=today(), declared_risks="R01")
    api = Api(client, people["village"])
    plan = api.get(f"/plans/{h.household_number}").json()
    assert plan["suggested_measures"][0]["measure_code"] in ("M02", "M05")
    assert plan["due_on"] is not None and plan["contact"] is None
    response = api.post(f"/plans/{h.household_number}", {"measures": [{"measure_code": "M05"}], "note": "健康"})
    assert response.status_code == 201 and response.json()["measures"][0]["measure_code"] == "M05"
    assert api.post(f"/plans/{h.household_number}", {"measures": [{"measure_code": "M77"}]}).status_code == 400

    ordinary = household(FUNAN)
    IncomeYearFactory(household=ordinary, year=today().year - 1, wage=3_000_000)
    response = api.post(f"/visits/{ordinary.household_number}", {
        "visited_on": today().isoformat(), "method": "电话", "visitors": "李四", "net_income_yuan": "800",
        "new_risks": ["R01"]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["raised_case"] and body["net_income_yuan"] == "800.00" and "已发起识别纳入案件" in body["warning"]
    assert api.post(f"/visits/{ordinary.household_number}", {
        "visited_on": today().isoformat(), "method": "home", "visitors": "李四", "net_income_yuan": "1.234"}
    ).status_code == 422
    assert Visit.objects.count() == 1
    assert len(api.get(f"/visits/{ordinary.household_number}").json()["visits"]) == 1
    other = household(HUNAN)
    assert api.get(f"/visits/{other.household_number}").status_code == 404
    assert api.get(f"/plans/{other.household_number}").status_code == 404
