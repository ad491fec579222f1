"""The department warning pages (W6): the worklist, a warning with its forms, the county's
overview, the department's feedback, referrals and the 县民政局's list, over real warnings
raised by importing the generated county's twelve feeds."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from python_calamine import CalamineWorkbook

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.audit.models import AuditEvent
from fangfan.departments.models import DeptWarning, Referral
from fangfan.departments.services import feed_import, warning_refer
from fangfan.registry.models import Member
from fangfan.workflows.models import Case
from tests.departments.conftest import county, written  # noqa: F401 - the generated county
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
COUNTY_CODE = "341225000000"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def warned(county):  # noqa: F811
    for department in DEPARTMENTS:
        feed_import(actor=None, department=department, path=county / f"{department}.csv")
    assert DeptWarning.objects.count() > 20
    return DeptWarning.objects.all()


def _user(name, role, region=COUNTY_CODE, department=""):
    return UserFactory(username=name, role=role, region_code=region, department=department)


def _login(client, *args, **kwargs):
    user = _user(*args, **kwargs)
    client.force_login(user)
    return user


def _ids(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-warning="(\d+)"', page)}


def _sheet(response) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()


def _one(kind: str, **extra) -> DeptWarning:
    return DeptWarning.objects.filter(kind=kind, **extra).select_related("household", "member").first()


# ---- scope -------------------------------------------------------------------------------------

def test_it_lists_a_village_only_its_own_villages_warnings(client, warned):
    village = DeptWarning.objects.values_list("village_code", flat=True).order_by("village_code").first()
    _login(client, "cun", Role.VILLAGE, village)

    page = client.get("/warnings/").content.decode()

    assert _ids(page) == set(DeptWarning.objects.filter(village_code=village).values_list("pk", flat=True))
    other = DeptWarning.objects.exclude(village_code=village).first()
    assert client.get(f"/warnings/{other.pk}/").status_code == 404


def test_it_answers_not_found_to_a_township_user_of_another_township(client, warned):
    warning = DeptWarning.objects.filter(township_code="341225100").first()
    _login(client, "xz-other", Role.TOWNSHIP, "341225101000")

    assert client.get(f"/warnings/{warning.pk}/").status_code == 404
    assert client.post(f"/warnings/{warning.pk}/pass/", {"seen_version": 1}).status_code == 404
    assert warning.pk not in _ids(client.get("/warnings/").content.decode())
    assert DeptWarning.objects.get(pk=warning.pk).state == DeptWarning.State.TOWNSHIP


def test_it_shows_a_department_user_its_own_warnings_without_household_data(client, warned):
    _login(client, "yb", Role.COUNTY_DEPT, department="医保")
    mine = DeptWarning.objects.filter(department="医保")
    warning = mine.select_related("household", "member").first()

    listing = client.get("/warnings/").content.decode()
    detail = client.get(f"/warnings/{warning.pk}/").content.decode()

    assert _ids(listing) == set(mine.values_list("pk", flat=True))
    assert warning.household.household_number not in listing + detail and "/households/" not in listing + detail
    assert warning.member.name not in detail and warning.member.id_number not in detail
    assert "入户核查" not in detail  # no forms for the department
    other = DeptWarning.objects.exclude(department="医保").first()
    assert client.get(f"/warnings/{other.pk}/").status_code == 404
    feedback = client.get("/warnings/feedback/?department=民政").content.decode()
    assert _ids(feedback) == set(mine.values_list("pk", flat=True))
    assert client.get("/warnings/overview/").status_code == 403
    assert client.get("/warnings/civil-affairs/").status_code == 403


def test_it_shows_the_household_link_to_those_who_read_household_files(client, warned):
    warning = _one("dropout")
    _login(client, "xz", Role.TOWNSHIP, warning.township_code + "000")

    page = client.get(f"/warnings/{warning.pk}/").content.decode()

    assert f'href="/households/{warning.household.household_number}/"' in page
    assert warning.member.id_number not in page and warning.member.id_number[:6] in page  # masked
    assert "第" in page and "教育.csv" in page  # the evidence row


# ---- the worklist ------------------------------------------------------------------------------

def test_it_puts_urgent_warnings_first_and_marks_the_overdue(client, warned):
    _login(client, "rr", Role.COUNTY_RR)
    late = _one("large_oop")
    DeptWarning.objects.filter(pk=late.pk).update(deadline=dt.date(2020, 1, 1))

    page = client.get("/warnings/").content.decode()
    ordered = [int(n) for n in re.findall(r'data-warning="(\d+)"', page)]
    urgent = set(DeptWarning.objects.filter(urgent=True).values_list("pk", flat=True))

    assert urgent and set(ordered[: len(urgent)]) == urgent
    assert _ids(client.get("/warnings/?urgent=1").content.decode()) == urgent
    overdue = client.get("/warnings/?overdue=1").content.decode()
    assert _ids(overdue) == {late.pk} and "逾期" in overdue
    assert _ids(client.get("/warnings/?department=教育").content.decode()) == set(
        DeptWarning.objects.filter(department="教育").values_list("pk", flat=True))
    bad = client.get("/warnings/?region=abc").content.decode()
    assert "区划代码" in bad and "无效" in bad


def test_it_exports_the_list_as_xlsx_and_logs_the_export(client, warned):
    user = _login(client, "rr", Role.COUNTY_RR)

    response = client.get("/warnings/?department=公安&format=xlsx")

    rows = _sheet(response)
    expected = DeptWarning.objects.filter(department="公安")
    assert rows[1][0] == "编号" and {int(r[0]) for r in rows[2:]} == set(expected.values_list("pk", flat=True))
    numbers = {w.member.id_number for w in expected.select_related("member") if w.member_id}
    assert not any(n in str(r) for r in rows for n in numbers)  # masked
    event = AuditEvent.objects.get(action="dept_warning.export")
    assert event.actor == user and event.after["rows"] == expected.count() and event.after["department"] == "公安"


def test_it_counts_waiting_warnings_on_the_home_page(client, warned):
    warning = _one("dropout")
    _login(client, "cun", Role.VILLAGE, warning.village_code)
    waiting = DeptWarning.objects.filter(village_code=warning.village_code).count()

    page = client.get("/").content.decode()

    assert f'data-worklist="dept_warnings">部门预警待核查<b>{waiting}</b>' in page
    listing = client.get("/worklists/dept_warnings/").content.decode()
    assert f'href="/warnings/{warning.pk}/"' in listing


# ---- the forms ---------------------------------------------------------------------------------

def test_it_passes_a_warning_to_the_village_and_refuses_a_stale_page(client, warned):
    warning = _one("unemployment")
    _login(client, "xz", Role.TOWNSHIP, warning.township_code + "000")
    assert "转交村核查" in client.get(f"/warnings/{warning.pk}/").content.decode()

    response = client.post(f"/warnings/{warning.pk}/pass/", {"seen_version": warning.version, "note": "请入户"})

    assert response.status_code == 302
    assert DeptWarning.objects.get(pk=warning.pk).state == DeptWarning.State.VILLAGE
    again = client.post(f"/warnings/{warning.pk}/pass/", {"seen_version": warning.version},
                        HTTP_HX_REQUEST="true").content.decode()
    assert "已被他人处理" in again and "<html" not in again


def test_it_shows_the_verification_errors_at_the_fields(client, warned):
    warning = _one("unsafe_housing")
    _login(client, "cun", Role.VILLAGE, warning.village_code)

    page = client.post(f"/warnings/{warning.pk}/verify/", {"seen_version": warning.version},
                       HTTP_HX_REQUEST="true").content.decode()

    assert "请选择核查结果" in page and "请填写核查情况" in page and 'id="verify-form"' in page
    already = client.post(f"/warnings/{warning.pk}/verify/", {
        "seen_version": warning.version, "outcome": "already_monitored", "note": "已入户"}).content.decode()
    assert "该户不是监测对象" in already
    assert DeptWarning.objects.get(pk=warning.pk).state != DeptWarning.State.VERIFIED


def test_it_opens_an_identification_case_when_the_check_enrols(client, warned, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    warning = _one("large_oop", monitored_when_raised=False)
    _login(client, "cun", Role.VILLAGE, warning.village_code)

    response = client.post(f"/warnings/{warning.pk}/verify/", {
        "seen_version": warning.version, "outcome": "enrolled", "note": "住院花费大, 收入骤减",
        "file": SimpleUploadedFile("照片.png", PNG, content_type="image/png")})

    assert response.status_code == 302
    done = DeptWarning.objects.get(pk=warning.pk)
    case = Case.objects.get(pk=done.case_id)
    assert (done.outcome, case.channel, case.household_id) == ("enrolled", "department_warning", warning.household_id)
    assert case.data["department_warning"]["warning"] == warning.pk and done.attachment.original_name == "照片.png"
    page = client.get(f"/warnings/{warning.pk}/").content.decode()
    assert f'href="/cases/{case.pk}/"' in page and "纳入监测" in page and "保存核查结果" not in page


def test_it_changes_a_members_status_only_when_the_death_is_confirmed(client, warned):
    confirmed, denied = DeptWarning.objects.filter(kind="death").select_related("member")[:2]
    _login(client, "rr", Role.COUNTY_RR)
    form = client.get(f"/warnings/{confirmed.pk}/").content.decode()
    assert f"将{confirmed.member.name}的人员状态改为「死亡」" in form

    missing = client.post(f"/warnings/{confirmed.pk}/verify/", {"outcome": "no_risk", "note": "已核"}).content.decode()
    assert "请确认部门数据所报的人员状态变更是否属实" in missing
    client.post(f"/warnings/{confirmed.pk}/verify/", {"outcome": "no_risk", "note": "已去世, 火化证明",
                                                      "confirm_status": "yes"})
    client.post(f"/warnings/{denied.pk}/verify/", {"outcome": "no_risk", "note": "本人健在", "confirm_status": "no"})

    assert Member.objects.get(pk=confirmed.member_id).status == "deceased"
    assert Member.objects.get(pk=denied.member_id).status == "normal"
    assert DeptWarning.objects.get(pk=confirmed.pk).status_applied and not DeptWarning.objects.get(pk=denied.pk).status_applied


def test_it_offers_a_removal_review_for_a_negative_hit_on_a_monitored_household(client, warned):
    warning = _one("large_deposits", monitored_when_raised=True)
    _login(client, "xz", Role.TOWNSHIP, warning.township_code + "000")

    page = client.get(f"/warnings/{warning.pk}/").content.decode()

    assert "复核清退" in page and f'href="/cases/new/removal/{warning.household.household_number}/"' in page
    plain = _one("large_deposits", monitored_when_raised=False)
    assert "复核清退" not in client.get(f"/warnings/{plain.pk}/").content.decode()


# ---- referrals and the 县民政局 -------------------------------------------------------------------

def test_it_lets_only_the_right_department_answer_a_referral(client, warned):
    warning = _one("dropout")
    _login(client, "cun", Role.VILLAGE, warning.village_code)
    empty = client.post(f"/warnings/{warning.pk}/refer/", {"to_department": "", "reason": ""}).content.decode()
    assert "请选择转介部门" in empty and "请写明转介事由" in empty
    client.post(f"/warnings/{warning.pk}/refer/", {"to_department": "教育", "reason": "辍学, 需教育部门劝返"})
    referral = Referral.objects.get(warning=warning)

    _login(client, "yb", Role.COUNTY_DEPT, department="医保")
    assert "辍学, 需教育部门劝返" not in client.get("/referrals/").content.decode()
    assert client.post(f"/referrals/{referral.pk}/answer/", {f"r{referral.pk}-answer": "越权"}).status_code in (403, 404)

    _login(client, "jy", Role.COUNTY_DEPT, department="教育")
    listing = client.get("/referrals/?open=1").content.decode()
    assert "辍学, 需教育部门劝返" in listing and warning.household.household_number not in listing
    blank = client.post(f"/referrals/{referral.pk}/answer/", {f"r{referral.pk}-answer": ""}).content.decode()
    assert "请填写办理结果" in blank
    client.post(f"/referrals/{referral.pk}/answer/", {f"r{referral.pk}-answer": "已劝返复学"})

    referral.refresh_from_db()
    assert (referral.answer, referral.answered_by.username) == ("已劝返复学", "jy")


def test_it_hands_suspected_dibao_cases_to_civil_affairs(client, warned):
    warning = _one("unemployment")
    rr = _user("rr", Role.COUNTY_RR)
    warning_refer(actor=rr, warning_id=warning.pk, to_department="民政", reason="失业后无收入, 疑似低保")
    _login(client, "ca", Role.COUNTY_CA)

    page = client.get("/warnings/civil-affairs/").content.decode()

    exits = set(DeptWarning.objects.filter(kind="dibao_exit").values_list("pk", flat=True))
    assert _ids(page) == exits | {warning.pk} and "疑似低保/特困" in page
    referral = Referral.objects.get(warning=warning)
    client.post(f"/referrals/{referral.pk}/answer/", {f"r{referral.pk}-answer": "已启动低保申请"})
    assert Referral.objects.get(pk=referral.pk).answered_on is not None


# ---- the county's overview and the department's feedback ----------------------------------------

def test_it_shows_the_county_its_overview_with_chart_and_xlsx(client, warned):
    _login(client, "rr", Role.COUNTY_RR)

    page = client.get("/warnings/overview/").content.decode()
    book = CalamineWorkbook.from_filelike(io.BytesIO(client.get("/warnings/overview/?format=xlsx").content))

    assert 'data-chart="warnings-department"' in page and "echarts" in page
    by_department = {r[0]: r[-1] for r in book.get_sheet_by_name("按部门").to_python()[2:]}
    assert by_department["合计"] == DeptWarning.objects.count()
    assert by_department["公安"] == DeptWarning.objects.filter(department="公安").count()
    client.force_login(_user("cun", Role.VILLAGE, DeptWarning.objects.first().village_code))
    assert client.get("/warnings/overview/").status_code == 403


def test_it_feeds_the_outcomes_back_to_the_department(client, warned):
    warning = _one("large_oop")
    rr = _login(client, "rr", Role.COUNTY_RR)
    client.post(f"/warnings/{warning.pk}/verify/", {"outcome": "no_risk", "note": "报销后自付不多"})
    assert rr and DeptWarning.objects.get(pk=warning.pk).outcome == "no_risk"

    _login(client, "yb", Role.COUNTY_DEPT, department="医保")
    rows = _sheet(client.get("/warnings/feedback/?format=xlsx"))
    text = client.get("/warnings/feedback/?format=csv").content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))

    mine = set(DeptWarning.objects.filter(department="医保").values_list("pk", flat=True))
    assert {int(r[0]) for r in rows[2:]} == mine == {int(r[0]) for r in lines[1:]}
    line = next(r for r in lines if r[0] == str(warning.pk))
    assert line[9] == "无风险" and line[11] == "报销后自付不多"
    assert warning.member.id_number not in text
    assert AuditEvent.objects.filter(action="dept_warning.export").count() == 2


# ---- the household file and the county comparison -----------------------------------------------

def test_it_lists_the_households_warnings_on_its_file(client, warned):
    warning = _one("disaster_loss")
    _login(client, "cun", Role.VILLAGE, warning.village_code)

    page = client.get(f"/households/{warning.household.household_number}/").content.decode()

    assert "部门预警" in page and f'href="/warnings/{warning.pk}/"' in page and "受灾损失大" in page


def test_it_prefills_the_county_comparison_with_the_negative_list_hits(client, warned):
    from fangfan.workflows.identification import identification_open

    warning = _one("town_house", monitored_when_raised=False)
    cadre = _user("cun", Role.VILLAGE, warning.village_code)
    case = identification_open(actor=cadre, household=warning.household, channel="cadre_visit",
                               on=dt.date.today(), reason="走访", consent={"signer_name": "户主"})
    Case.objects.filter(pk=case.pk).update(state="county_comparison")  # the earlier steps are W1's own tests
    _login(client, "rr", Role.COUNTY_RR)

    page = client.get(f"/cases/{case.pk}/do/record_comparison/").content.decode()

    assert "部门数据命中负面清单 1 项" in page and f'href="/warnings/{warning.pk}/"' in page
    assert f"不动产: {warning.detail.removeprefix('不动产: ')} (部门预警 {warning.pk}, {warning.raised_on:%Y-%m-%d})</textarea>" in page
    assert 'value="不动产" id="id_departments_1" checked' in page and 'value="公安" id="id_departments_0">' in page
