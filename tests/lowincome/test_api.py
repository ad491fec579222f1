"""/api/v1/lowincome: the household's 低保/特困 figures, W5 openers (steps through the common case
API), the payment lists (build and mark paid: 县民政局 only; reads scoped)."""
import datetime as dt

import pytest

from fangfan.accounts.services import api_token_create
from fangfan.workflows.models import Case
from tests.lowincome.factories import ANKANG, family, users

pytestmark = pytest.mark.django_db
D = dt.date


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=user)}"}


def test_it_opens_and_approves_a_w5_case_through_the_api(client):
    people = users()
    h = family(wage_yuan=3000)
    response = client.post(f"/api/v1/lowincome/households/{h.household_number}/apply",
                           {"programme": "dibao", "reason": "收入低", "signer_name": "户主"},
                           content_type="application/json", **auth(people["village"]))
    assert response.status_code == 201
    case = Case.objects.get(pk=response.json()["id"])
    steps = [("economic_check", "village", {"investigators": ["李四", "王五"], "findings": "核实"}),
             ("township_review", "township", {"signed_by": "乡长"})]
    for name, who, data in steps:
        case.refresh_from_db()
        r = client.post(f"/api/v1/cases/{case.pk}/transitions/{name}", {"seen_version": case.version, "data": data},
                        content_type="application/json", **auth(people[who]))
        assert r.status_code == 200, r.json()
    case.refresh_from_db()
    r = client.post(f"/api/v1/cases/{case.pk}/transitions/close_notice", {"seen_version": case.version, "data": {}},
                    content_type="application/json", **auth(people["township"]))
    assert r.status_code == 400 and "起方可结束" in r.json()["detail"]
    bad = client.post(f"/api/v1/lowincome/households/{h.household_number}/apply", {"programme": "x", "reason": "x"},
                      content_type="application/json", **auth(people["village"]))
    assert bad.status_code == 400 and "保障类别" in bad.json()["detail"]


def test_it_builds_reads_and_marks_paid_payment_lists_by_role(client):
    people = users()
    h = family(wage_yuan=0)
    h.members.update(tekun=True)
    denied = client.post("/api/v1/lowincome/payments", {"month": "2026-03"}, content_type="application/json",
                         **auth(people["county"]))
    assert denied.status_code == 403
    built = client.post("/api/v1/lowincome/payments", {"month": "2026-03", "region": ANKANG[:9]},
                        content_type="application/json", **auth(people["civil"]))
    assert built.status_code == 200
    [lst] = built.json()
    assert (lst["households"], lst["total"], lst["state"]) == (1, "523.25", "draft")
    detail = client.get(f"/api/v1/lowincome/payments/{lst['id']}", **auth(people["township"])).json()
    assert [(l["household_number"], l["programme"], l["amount"]) for l in detail["lines"]] == [
        (h.household_number, "tekun", "523.25")]
    assert "1.3 × 低保标准 4830.00 ÷ 12" in detail["lines"][0]["arithmetic"]
    stale = client.post(f"/api/v1/lowincome/payments/{lst['id']}/paid", {"seen_version": 9},
                        content_type="application/json", **auth(people["civil"]))
    assert stale.status_code == 409
    paid = client.post(f"/api/v1/lowincome/payments/{lst['id']}/paid", {"seen_version": lst["version"]},
                       content_type="application/json", **auth(people["civil"]))
    assert paid.json()["state"] == "paid"
    again = client.post(f"/api/v1/lowincome/payments/{lst['id']}/paid", {"seen_version": paid.json()["version"]},
                        content_type="application/json", **auth(people["civil"]))
    assert again.status_code == 409 and "已于" in again.json()["detail"]
    assert client.get("/api/v1/lowincome/payments", **auth(people["village"])).status_code == 403
    bad = client.post("/api/v1/lowincome/payments", {"month": "三月"}, content_type="application/json",
                      **auth(people["civil"]))
    assert bad.status_code == 422 and "YYYY-MM" in bad.json()["detail"]


def test_it_gives_the_households_class_and_arithmetic(client):
    people = users()
    h = family(wage_yuan=4000)
    from fangfan.screening.services import screening_run

    screening_run(actor=None, as_of=D(2026, 3, 31), region="610902")
    body = client.get(f"/api/v1/lowincome/households/{h.household_number}", **auth(people["civil"])).json()
    assert body["low_income_class"] == "dibao_eligible" and body["dibao_unserved"] is True
    assert body["arithmetic"][0].startswith("低保口径人均收入 4000.00 元 < 低保标准 L 4830.00 元")
    elsewhere = users("610921100201")["civil"]
    assert client.get(f"/api/v1/lowincome/households/{h.household_number}", **auth(elsewhere)).status_code == 404


def test_it_pays_urgent_temporary_aid_and_records_the_papers_through_the_api(client):
    people = users()
    h = family(wage_yuan=3000)
    url = f"/api/v1/lowincome/households/{h.household_number}/temp-aid"
    too_much = client.post(url, {"cause": "accident", "amount": "1000.01", "reason": "车祸", "urgent": True},
                           content_type="application/json", **auth(people["township"]))
    assert too_much.status_code == 422 and "先行救助上限 1000.00 元" in too_much.json()["detail"]
    r = client.post(url, {"cause": "accident", "amount": "1000", "reason": "车祸", "urgent": True},
                    content_type="application/json", **auth(people["township"]))
    assert r.status_code == 201 and r.json()["state"] == "urgent_paid" and r.json()["paid_on"]
    aid = r.json()["id"]
    listed = client.get("/api/v1/lowincome/temp-aid", **auth(people["county"])).json()
    assert [a["id"] for a in listed] == [aid]
    done = client.post(f"/api/v1/lowincome/temp-aid/{aid}/papers", {"note": "事故证明"},
                       content_type="application/json", **auth(people["village"]))
    assert done.status_code == 200 and done.json()["state"] == "granted"
    again = client.post(url, {"cause": "accident", "amount": "200", "reason": "再次"},
                        content_type="application/json", **auth(people["village"]))
    assert again.status_code == 422 and "12 个月内不重复救助" in again.json()["detail"]
