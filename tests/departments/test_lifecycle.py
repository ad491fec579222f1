"""A warning's life (W6 steps 2-5) through the services: the township passes it to the village,
the village verifies at home, 纳入监测 opens a W1 case, a death is applied only when confirmed,
referrals are answered by the department they went to; and what each role reads of it."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.audit.models import AuditEvent
from fangfan.departments import selectors
from fangfan.departments.models import DeptWarning
from fangfan.departments.services import (
    WarningRefused, feed_import, referral_answer, warning_pass, warning_refer, warning_verify,
)
from fangfan.workflows.models import Case
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
COUNTY_CODE = "341225000000"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def warnings(county):
    for d in DEPARTMENTS:
        feed_import(actor=None, department=d, path=county / f"{d}.csv", today=dt.date(2026, 5, 6))
    return DeptWarning.objects.all()


def _users_for(warning):
    village = UserFactory(username=f"v{warning.pk}", role=Role.VILLAGE, region_code=warning.village_code)
    township = UserFactory(username=f"t{warning.pk}", role=Role.TOWNSHIP, region_code=warning.township_code + "000")
    return village, township


def test_it_passes_a_warning_to_the_village_then_records_the_home_check(warnings):
    warning = warnings.filter(kind="unemployment").first()
    village, township = _users_for(warning)

    passed = warning_pass(actor=township, warning_id=warning.pk, on=dt.date(2026, 5, 7), seen_version=warning.version)
    done = warning_verify(actor=village, warning_id=warning.pk, outcome="no_risk", note="已在县城稳定务工",
                          on=dt.date(2026, 5, 9), file=SimpleUploadedFile("核查.png", PNG))

    assert passed.state == "village" and passed.passed_by == township
    assert (done.state, done.outcome, done.verified_by, done.verified_on) == ("verified", "no_risk", village, dt.date(2026, 5, 9))
    assert done.attachment.household_id == warning.household_id
    assert list(AuditEvent.objects.filter(object_type="dept_warning", object_key=str(warning.pk))
                .values_list("action", flat=True).order_by("id")) == ["dept_warning.pass", "dept_warning.verify"]


def test_it_refuses_a_stale_page_a_second_check_and_an_empty_note(warnings):
    warning = warnings.filter(kind="unemployment").first()
    village, township = _users_for(warning)

    with pytest.raises(WarningRefused, match="请填写核查情况"):
        warning_verify(actor=village, warning_id=warning.pk, outcome="no_risk", note="  ")
    warning_pass(actor=township, warning_id=warning.pk)
    with pytest.raises(WarningRefused, match="请刷新"):
        warning_verify(actor=village, warning_id=warning.pk, outcome="no_risk", note="x", seen_version=warning.version)
    warning_verify(actor=village, warning_id=warning.pk, outcome="no_risk", note="x")
    with pytest.raises(WarningRefused, match="已于"):
        warning_verify(actor=village, warning_id=warning.pk, outcome="not_eligible", note="y")
    assert DeptWarning.objects.get(pk=warning.pk).outcome == "no_risk"


def test_it_opens_a_w1_case_with_the_evidence_when_the_household_is_enrolled(warnings):
    warning = warnings.filter(kind="dropout", household__category="").first()
    village, _ = _users_for(warning)

    done = warning_verify(actor=village, warning_id=warning.pk, outcome="enrolled", note="孩子辍学在家, 家庭困难")

    case = Case.objects.get(pk=done.case_id)
    assert case.household_id == warning.household_id and case.channel == "department_warning"
    evidence = case.data["department_warning"]["evidence"]
    assert case.data["department_warning"]["risks"] == "R02;R10" and evidence[0]["file"] == "教育.csv"


def test_it_changes_a_members_status_only_when_the_village_confirms_it(warnings):
    first, second = warnings.filter(kind="death")[:2]
    village, _ = _users_for(first)
    other_village, _ = _users_for(second)

    with pytest.raises(WarningRefused, match="须确认"):
        warning_verify(actor=village, warning_id=first.pk, outcome="no_risk", note="核实")
    warning_verify(actor=village, warning_id=first.pk, outcome="no_risk", note="已去世, 火化证明", confirm_status=True)
    warning_verify(actor=other_village, warning_id=second.pk, outcome="no_risk", note="人还健在, 数据有误",
                   confirm_status=False)

    first.member.refresh_from_db()
    second.member.refresh_from_db()
    assert (first.member.status, second.member.status) == ("deceased", "normal")
    assert AuditEvent.objects.filter(action="member.status_from_department", object_key=str(first.member_id)).count() == 1


def test_it_keeps_each_user_to_the_warnings_of_their_region(warnings):
    warning = warnings.exclude(kind="unsafe_water").first()
    other = warnings.exclude(township_code=warning.township_code).exclude(kind="unsafe_water").first()
    village, township = _users_for(warning)

    with pytest.raises(PermissionDenied):
        warning_verify(actor=village, warning_id=other.pk, outcome="no_risk", note="x")
    with pytest.raises(PermissionDenied):
        warning_pass(actor=village, warning_id=warning.pk)  # the village does not pass to itself
    assert set(selectors.warning_list(actor=village).values_list("village_code", flat=True)) == {warning.village_code}
    assert set(selectors.warning_list(actor=township).values_list("township_code", flat=True)) == {warning.township_code}
    with pytest.raises(Http404):
        selectors.warning_get(actor=township, warning_id=other.pk)


def test_it_shows_a_department_only_its_own_warnings_and_their_outcomes(warnings):
    medical = UserFactory(username="yb", role=Role.COUNTY_DEPT, region_code=COUNTY_CODE, department="医保")
    warning = warnings.filter(department="医保").first()
    village, _ = _users_for(warning)
    warning_verify(actor=village, warning_id=warning.pk, outcome="no_risk", note="已报销, 无困难")

    rows = selectors.feedback_rows(actor=medical)

    assert {r["department"] for r in rows} == {"医保"} and len(rows) == warnings.filter(department="医保").count()
    mine = next(r for r in rows if r["id"] == warning.pk)
    assert mine["outcome"] == "无风险" and "****" in mine["id_number"] and "医保.csv 第" in mine["evidence"]


def test_it_tracks_a_referral_to_the_department_that_answers_it(warnings):
    warning = warnings.filter(kind="large_oop").first()
    village, _ = _users_for(warning)
    medical = UserFactory(username="yb", role=Role.COUNTY_DEPT, region_code=COUNTY_CODE, department="医保")
    education = UserFactory(username="jy", role=Role.COUNTY_DEPT, region_code=COUNTY_CODE, department="教育")

    referral = warning_refer(actor=village, warning_id=warning.pk, to_department="医保", reason="申请医疗救助")
    with pytest.raises(WarningRefused, match="尚待答复"):
        warning_refer(actor=village, warning_id=warning.pk, to_department="医保", reason="再次")
    with pytest.raises(PermissionDenied):
        referral_answer(actor=education, referral_id=referral.pk, answer="已办")
    assert list(selectors.referral_list(actor=medical, open_only=True)) == [referral]
    referral_answer(actor=medical, referral_id=referral.pk, answer="已纳入医疗救助, 救助3200元")

    assert list(selectors.referral_list(actor=medical, open_only=True)) == []
    assert selectors.referral_list(actor=village).get().answer.startswith("已纳入医疗救助")


def test_it_hands_a_suspected_dibao_case_to_the_civil_affairs_list(warnings):
    warning = warnings.filter(kind="disaster_loss").first()
    village, _ = _users_for(warning)
    civil = UserFactory(username="mz", role=Role.COUNTY_CA, region_code=COUNTY_CODE)

    warning_refer(actor=village, warning_id=warning.pk, to_department="民政", reason="房屋倒塌, 无收入来源, 疑似低保对象")

    listed = list(selectors.civil_affairs_list(actor=civil))
    assert warning in listed and all(w.dibao_suspected or w.kind == "dibao_exit" for w in listed)
    assert selectors.referral_list(actor=civil, open_only=True).get().warning == warning


def test_it_tallies_open_and_overdue_warnings_for_the_county(warnings):
    rr = UserFactory(username="rr", role=Role.COUNTY_RR, region_code=COUNTY_CODE)
    warning = warnings.first()
    village, _ = _users_for(warning)
    warning_verify(actor=village, warning_id=warning.pk, outcome="no_risk", note="x",
                   confirm_status=False if warning.action == "status" else None)

    overview = selectors.warning_overview(actor=rr, today=dt.date(2026, 5, 17))  # deadline 05-16 passed

    total = sum(t.total for t in overview["department"])
    assert total == warnings.count()
    assert sum(t.overdue for t in overview["department"]) == total - 1
    assert sum(t.outcomes["no_risk"] for t in overview["kind"]) == 1
    assert sum(t.overdue for t in selectors.warning_overview(actor=rr, today=dt.date(2026, 5, 16))["department"]) == 0


def test_it_attaches_negative_list_hits_to_the_household(warnings):
    warning = warnings.filter(action="negative").first()

    assert warning in selectors.negative_hits(household=warning.household)


def test_it_refuses_the_village_after_a_campaigns_entry_window_closed(warnings, monkeypatch):
    from fangfan.reports import campaigns as C

    warning = warnings.filter(kind="unemployment").first()
    village, township = _users_for(warning)
    county = UserFactory(username="xian", role=Role.COUNTY_RR, region_code=COUNTY_CODE)
    C.campaign_create(actor=county, name="集中排查", region="341225", year=2026, phases=[
        C.PhaseSpec("field", dt.date(2026, 5, 27)), C.PhaseSpec("entry", dt.date(2026, 5, 31), dt.time(18, 0)),
        C.PhaseSpec("correction", dt.date(2026, 6, 5))])
    shanghai = dt.timezone(dt.timedelta(hours=8))
    monkeypatch.setattr(C, "now", lambda: dt.datetime(2026, 5, 31, 18, 0, tzinfo=shanghai))

    with pytest.raises(PermissionDenied, match="18:00 截止"):
        warning_pass(actor=township, warning_id=warning.pk)
    with pytest.raises(PermissionDenied, match="18:00 截止"):
        warning_verify(actor=village, warning_id=warning.pk, outcome="no_risk", note="x")
    assert DeptWarning.objects.get(pk=warning.pk).state == "township"
    assert warning_pass(actor=county, warning_id=warning.pk).state == "village"  # the county is never refused
