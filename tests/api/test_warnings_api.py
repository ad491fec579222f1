"""/api/v1/warnings (W6) over real warnings from the generated county's feeds: the same scope,
forms and Chinese refusals as the pages."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.accounts.services import api_token_create
from fangfan.departments.models import DeptWarning, Referral
from fangfan.departments.services import feed_import
from fangfan.registry.models import Member
from fangfan.workflows.models import Case
from tests.departments.conftest import county, written  # noqa: F401 - the generated county
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
COUNTY_CODE = "341225000000"
API = "/api/v1/warnings"


@pytest.fixture
def warned(county):  # noqa: F811
    for department in DEPARTMENTS:
        feed_import(actor=None, department=department, path=county / f"{department}.csv")
    return DeptWarning.objects.all()


def _auth(name, role, region=COUNTY_CODE, department="") -> dict:
    user = UserFactory(username=name, role=role, region_code=region, department=department)
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=user)}"}


def _one(kind: str, **extra) -> DeptWarning:
    return DeptWarning.objects.filter(kind=kind, **extra).select_related("household", "member").first()


def _post(client, url, body, auth):
    return client.post(url, body, content_type="application/json", **auth)


def test_it_lists_a_village_its_warnings_with_masked_ids(client, warned):
    warning = _one("dropout")
    auth = _auth("cun", Role.VILLAGE, warning.village_code)

    body = client.get(f"{API}/", **auth).json()

    assert {i["id"] for i in body["items"]} == set(
        DeptWarning.objects.filter(village_code=warning.village_code).values_list("pk", flat=True))
    item = next(i for i in body["items"] if i["id"] == warning.pk)
    assert item["household_number"] == warning.household.household_number and item["urgent"] is True
    assert item["id_number"] != warning.member.id_number and item["id_number"][:6] == warning.member.id_number[:6]


def test_it_gives_a_department_only_its_own_warnings_and_no_household(client, warned):
    auth = _auth("yb", Role.COUNTY_DEPT, department="医保")

    items = client.get(f"{API}/", **auth).json()["items"]
    assert client.get(f"{API}/?department=民政", **auth).json()["count"] == 0
    feedback = client.get(f"{API}/feedback?department=民政", **auth).json()

    mine = set(DeptWarning.objects.filter(department="医保").values_list("pk", flat=True))
    assert {i["id"] for i in items} == mine == {r["id"] for r in feedback["rows"]}
    assert feedback["department"] == "医保"
    assert all(i["household_number"] == "" and i["member_name"] == "" for i in items)
    other = DeptWarning.objects.exclude(department="医保").first()
    assert client.get(f"{API}/{other.pk}", **auth).status_code == 404
    assert client.get(f"{API}/overview", **auth).status_code == 403


def test_it_answers_not_found_outside_the_township(client, warned):
    warning = DeptWarning.objects.filter(township_code="341225100").first()
    auth = _auth("xz", Role.TOWNSHIP, "341225101000")

    assert client.get(f"{API}/{warning.pk}", **auth).status_code == 404
    response = _post(client, f"{API}/{warning.pk}/pass", {"seen_version": 1}, auth)
    assert response.status_code == 404 and "管辖范围" in response.json()["detail"]


def test_it_passes_to_the_village_and_answers_409_to_a_stale_version(client, warned):
    warning = _one("unemployment")
    township = _auth("xz", Role.TOWNSHIP, warning.township_code + "000")
    village = _auth("cun", Role.VILLAGE, warning.village_code)

    assert _post(client, f"{API}/{warning.pk}/pass", {"seen_version": 1}, village).status_code == 403
    done = _post(client, f"{API}/{warning.pk}/pass", {"seen_version": 1}, township)
    stale = _post(client, f"{API}/{warning.pk}/pass", {"seen_version": 1}, township)

    assert done.status_code == 200 and done.json()["state"] == "village" and done.json()["version"] == 2
    assert stale.status_code == 409 and "已被他人处理" in stale.json()["detail"]
    again = _post(client, f"{API}/{warning.pk}/pass", {"seen_version": 2}, township)
    assert again.status_code == 400 and "不能再转交村" in again.json()["detail"]


def test_it_verifies_by_json_and_opens_a_case_on_enrolment(client, warned):
    warning = _one("severe_disability", monitored_when_raised=False)
    auth = _auth("cun", Role.VILLAGE, warning.village_code)
    detail = client.get(f"{API}/{warning.pk}", **auth).json()
    assert detail["actions"] == ["verify", "refer"] and detail["evidence"][0]["file"] == "残联.csv"

    bad = _post(client, f"{API}/{warning.pk}/verify", {"outcome": "maybe", "note": ""}, auth)
    done = _post(client, f"{API}/{warning.pk}/verify", {"outcome": "enrolled", "note": "新发一级残疾",
                                                        "seen_version": detail["version"]}, auth)

    assert bad.status_code == 422 and "核查结果应为" in bad.json()["detail"] and "请填写核查情况" in bad.json()["detail"]
    assert done.status_code == 200 and done.json()["outcome"] == "enrolled"
    case = Case.objects.get(pk=done.json()["case_id"])
    assert case.channel == "department_warning" and case.household_id == warning.household_id


def test_it_changes_the_member_status_only_on_a_confirmed_death(client, warned, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    confirmed, denied = DeptWarning.objects.filter(kind="death")[:2]
    auth = _auth("rr", Role.COUNTY_RR)

    missing = _post(client, f"{API}/{denied.pk}/verify", {"outcome": "no_risk", "note": "已核"}, auth)
    yes = client.post(f"{API}/{confirmed.pk}/verify", {
        "outcome": "no_risk", "note": "已去世", "confirm_status": "true",
        "file": SimpleUploadedFile("证明.pdf", b"%PDF-1.4\n" + b"0" * 64, content_type="application/pdf")}, **auth)
    no = _post(client, f"{API}/{denied.pk}/verify", {"outcome": "no_risk", "note": "本人健在", "confirm_status": False}, auth)

    assert missing.status_code == 422 and "人员状态变更是否属实" in missing.json()["detail"]
    assert yes.status_code == 200 and no.status_code == 200
    assert Member.objects.get(pk=confirmed.member_id).status == "deceased"
    assert Member.objects.get(pk=denied.member_id).status == "normal"
    assert DeptWarning.objects.get(pk=confirmed.pk).attachment.original_name == "证明.pdf"


def test_it_refers_and_only_the_named_department_answers(client, warned):
    warning = _one("unsafe_housing")
    village = _auth("cun", Role.VILLAGE, warning.village_code)
    housing = _auth("zj", Role.COUNTY_DEPT, department="住建")
    medical = _auth("yb", Role.COUNTY_DEPT, department="医保")

    bad = _post(client, f"{API}/{warning.pk}/refer", {"to_department": "外交", "reason": "x"}, village)
    made = _post(client, f"{API}/{warning.pk}/refer", {"to_department": "住建", "reason": "C级危房需改造"}, village)
    twice = _post(client, f"{API}/{warning.pk}/refer", {"to_department": "住建", "reason": "再转"}, village)

    assert bad.status_code == 422 and "转介部门应为" in bad.json()["detail"]
    assert made.status_code == 201 and twice.status_code == 400 and "尚待答复" in twice.json()["detail"]
    referral = made.json()["id"]
    assert client.get(f"{API}/referrals?open_only=true", **medical).json()["count"] == 0
    assert _post(client, f"{API}/referrals/{referral}/answer", {"answer": "越权"}, medical).status_code == 404
    listed = client.get(f"{API}/referrals?open_only=true", **housing).json()["items"]
    assert [(r["id"], r["may_answer"]) for r in listed] == [(referral, True)]
    assert _post(client, f"{API}/referrals/{referral}/answer", {"answer": ""}, housing).status_code == 422
    answered = _post(client, f"{API}/referrals/{referral}/answer", {"answer": "已纳入危房改造"}, housing)
    assert answered.status_code == 200 and answered.json()["answer"] == "已纳入危房改造"
    assert Referral.objects.get(pk=referral).answered_by.username == "zj"


def test_it_gives_the_county_its_overview(client, warned):
    county_auth = _auth("rr", Role.COUNTY_RR)
    village = _auth("cun", Role.VILLAGE, DeptWarning.objects.first().village_code)

    body = client.get(f"{API}/overview", **county_auth).json()

    by_department = {t["key"]: t["total"] for t in body["department"]}
    assert by_department["公安"] == DeptWarning.objects.filter(department="公安").count()
    assert sum(by_department.values()) == DeptWarning.objects.count()
    assert {t["key"] for t in body["township"]} == set(DeptWarning.objects.values_list("township_code", flat=True))
    assert client.get(f"{API}/overview", **village).status_code == 403
